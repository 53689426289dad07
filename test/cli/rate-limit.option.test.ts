import { parseRateLimit } from '../../src/cli/rate-limit.option';

describe('--rate-limit parsing', () => {
  test('both limits, one of them, and "default"', () => {
    expect(parseRateLimit('requests=600,messages=100000')).toEqual({ requestsPerMin: 600, messagesPerMin: 100_000 });
    expect(parseRateLimit(' messages = 5 ')).toEqual({ messagesPerMin: 5 });
    expect(parseRateLimit('requests=default,messages=7')).toEqual({ requestsPerMin: null, messagesPerMin: 7 });
  });

  test.each([
    ['', /expected requests=N/],
    ['requests', /is not requests=N or messages=N/],
    ['bytes=5', /is not requests=N or messages=N/],
    ['requests=0', /whole number from 1/],
    ['requests=-3', /whole number from 1/],
    ['requests=1.5', /whole number from 1/],
    ['messages=2147483648', /whole number from 1/],
    ['requests=1,requests=2', /given twice/],
  ])('%j is refused with a clear message', (text, message) => {
    expect(() => parseRateLimit(text)).toThrow(message);
  });
});
