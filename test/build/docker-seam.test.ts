import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demultiplexLogs, splitReference, toStatsSample, type DockerSeam } from '../../pipeline/seams/docker.js';
import { TEST_LABEL, baseImage, requireDockerWithBaseImage, uniqueTestLabel } from '../support/docker.js';
import { waitUntil } from '../support/wait-until.js';

describe('the Docker seam against the real engine', () => {
  let docker: DockerSeam;
  const label = uniqueTestLabel('docker-seam');

  beforeAll(async () => {
    docker = await requireDockerWithBaseImage();
  });

  afterAll(async () => {
    await docker?.removeContainersWithLabel(TEST_LABEL, label);
  });

  it('runs a container with host networking as a non-root user and reads its logs and state', async () => {
    const container = await docker.runContainer({
      image: baseImage,
      name: `${label}-logs`,
      command: ['node', '-e', 'console.log(`uid=${process.getuid()} env=${process.env.GREETING}`); console.error("to stderr")'],
      env: { GREETING: 'hello' },
      labels: { [TEST_LABEL]: label },
      readOnlyRootFs: true,
    });
    await waitUntil(async () => !(await container.inspect()).running, 30_000);
    const state = await container.inspect();
    expect(state).toMatchObject({ running: false, oomKilled: false, exitCode: 0 });
    const logs = await container.logs();
    expect(logs).toContain('uid=10001 env=hello');
    expect(logs).toContain('to stderr');
  });

  it('replaces a stale container of the same name', async () => {
    const name = `${label}-same-name`;
    const command = ['node', '-e', 'setTimeout(() => {}, 60000)'];
    const first = await docker.runContainer({ image: baseImage, name, command, labels: { [TEST_LABEL]: label } });
    const second = await docker.runContainer({ image: baseImage, name, command, labels: { [TEST_LABEL]: label } });
    expect(second.id).not.toBe(first.id);
    await expect(first.inspect()).rejects.toThrow();
    expect((await second.inspect()).running).toBe(true);
    await second.remove();
  });

  it('samples the working set of a container and sees the memory it holds', async () => {
    const container = await docker.runContainer({
      image: baseImage,
      name: `${label}-stats`,
      command: ['node', '-e', 'globalThis.held = Buffer.alloc(96 * 1024 * 1024, 1); setTimeout(() => {}, 60000)'],
      labels: { [TEST_LABEL]: label },
    });
    const controller = new AbortController();
    let peak = 0;
    let samples = 0;
    for await (const sample of container.stats(controller.signal)) {
      samples += 1;
      peak = Math.max(peak, sample.workingSetBytes);
      expect(sample.usageBytes).toBeGreaterThanOrEqual(sample.workingSetBytes);
      if (peak > 96 * 1024 * 1024 || samples >= 8) controller.abort();
    }
    expect(peak).toBeGreaterThan(96 * 1024 * 1024);
    await container.stop(1);
    await container.remove();
  });

  it('caps memory for real: a container that outgrows its cap is OOM-killed', async () => {
    const container = await docker.runContainer({
      image: baseImage,
      name: `${label}-oom`,
      command: ['node', '-e', 'const keep = []; setInterval(() => keep.push(Buffer.alloc(16 * 1024 * 1024, 1)), 20)'],
      labels: { [TEST_LABEL]: label },
      memoryBytes: 96 * 1024 * 1024,
    });
    await waitUntil(async () => !(await container.inspect()).running, 30_000);
    const state = await container.inspect();
    expect(state.oomKilled).toBe(true);
    expect(state.exitCode).toBe(137);
  });

  it('lists the layers of an image bottom first', async () => {
    const layers = await docker.imageLayers(baseImage);
    expect(layers.length).toBeGreaterThanOrEqual(1);
    for (const layer of layers) expect(layer).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await docker.imageExists('modelfleet/does-not-exist:0')).toBe(false);
  });
});

describe('the Docker seam without an engine', () => {
  it('computes the working set as usage minus inactive file cache on cgroup v1 and v2', () => {
    const v1 = toStatsSample({ read: '2026-01-01T00:00:00Z', memory_stats: { usage: 500, stats: { total_inactive_file: 120 } } });
    const v2 = toStatsSample({ read: '2026-01-01T00:00:01Z', memory_stats: { usage: 500, stats: { inactive_file: 200 } } });
    expect(v1).toMatchObject({ workingSetBytes: 380, usageBytes: 500, atMs: Date.parse('2026-01-01T00:00:00Z') });
    expect(v2).toMatchObject({ workingSetBytes: 300, usageBytes: 500 });
    expect(toStatsSample({ memory_stats: {} })).toBeUndefined();
  });

  it('computes CPU percent from the deltas between two reads', () => {
    const sample = toStatsSample({
      memory_stats: { usage: 1 },
      cpu_stats: { cpu_usage: { total_usage: 3_000 }, system_cpu_usage: 20_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000 }, system_cpu_usage: 10_000 },
    });
    expect(sample?.cpuPercent).toBeCloseTo(40);
  });

  it('splits multiplexed log frames into text', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(body.length, 4);
      return Buffer.concat([header, body]);
    };
    expect(demultiplexLogs(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]))).toBe('out\nerr\n');
  });

  it('splits image references with a registry port into repository and tag', () => {
    expect(splitReference('registry.example.com:5000/group/model:abc')).toEqual({ repo: 'registry.example.com:5000/group/model', tag: 'abc' });
    expect(splitReference('registry.example.com:5000/group/model')).toEqual({ repo: 'registry.example.com:5000/group/model', tag: 'latest' });
  });
});
