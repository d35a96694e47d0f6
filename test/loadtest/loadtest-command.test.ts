import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';

afterEach(() => {
  vi.restoreAllMocks();
});

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void errors.push(parts.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    errors.push(String(chunk));
    return true;
  });
  const code = await main(args);
  return { code, stderr: errors.join('\n') };
}

describe('modelfleet loadtest command line', () => {
  it('rejects an unknown mode with the modes it knows', async () => {
    const { code, stderr } = await run(['loadtest', '--model', 'x', '--mode', 'kubernetes']);
    expect(code).toBe(1);
    expect(stderr).toContain('error[USAGE]: --mode kubernetes is not one of docker, process, auto');
  });

  it('rejects a duration that is not a whole number of seconds', async () => {
    const { code, stderr } = await run(['loadtest', '--model', 'x', '--duration', '2.5']);
    expect(code).toBe(1);
    expect(stderr).toContain('error[USAGE]: --duration 2.5 must be a whole number from 1 to 3600');
  });

  it('requires --model', async () => {
    const { code, stderr } = await run(['loadtest']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/required option '--model <name>'/);
  });
});
