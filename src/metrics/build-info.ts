import packageJson from '../../package.json';
import type { BuildInfo } from './prometheus-metrics';

/** Version from package.json and the running Node, for the build_info gauge. */
export function buildInfo(database: string): BuildInfo {
  return { version: packageJson.version, nodeVersion: process.versions.node, database };
}
