/**
 * The parts of a test runner the suites need. Vitest's `describe`/`it`/`beforeAll`/`afterAll` fit
 * as they are; so do Jest's. For `node:test`, wrap `it` to pass `{ timeout }`.
 */
export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeoutMs?: number): void;
  beforeAll(body: () => Promise<void> | void, timeoutMs?: number): void;
  afterAll(body: () => Promise<void> | void, timeoutMs?: number): void;
}
