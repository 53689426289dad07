import { Message, Session } from '../../generated/catsyphon/telemetry/v1/sessions';

describe('generated code keeps int64 exact', () => {
  test.each([1732233600123456789n, 9223372036854775807n, -9223372036854775808n, 0n])('%s ns survives encode/decode', (ns) => {
    const message = Message.fromPartial({ seq: 1, emittedAtNs: ns, observedAtNs: ns });
    const decoded = Message.decode(Message.encode(message).finish());
    expect(decoded.emittedAtNs).toBe(ns);
    expect(decoded.observedAtNs).toBe(ns);
    const json = Session.fromJSON(Session.toJSON(Session.fromPartial({ startedAtNs: ns })));
    expect(json.startedAtNs).toBe(ns);
  });
});
