import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FleetInvalidError, parseFleet } from '../../generator/fleet/load-fleet.js';
import { TOPIC_PATTERN } from '../../generator/fleet/fleet-schema.js';

const fleet = (...lines: string[]) => parseFleet(['defaults:', '  endpoint: probability', 'models:', ...lines, ''].join('\n'), '/repo/models.yaml');
const problemsOf = (...lines: string[]): string => {
  try {
    fleet(...lines);
  } catch (err) {
    if (err instanceof FleetInvalidError) return err.message;
    throw err;
  }
  throw new Error('expected the fleet to be refused');
};

describe('models.yaml stream:', () => {
  it('fills every default when a model only says stream: {}', () => {
    const [model] = fleet('  - name: match-7-moto', '    path: examples/models/match-logreg-v1', '    stream: {}').models;
    expect(model?.stream).toEqual({
      transport: 'redis', input: 'modelfleet.match-7-moto.inputs', output: 'modelfleet.match-7-moto.outputs', deadLetter: 'modelfleet.match-7-moto.dead-letter',
      group: 'modelfleet.match-7-moto', batchSize: 256, maxReplicas: 4, lagPerReplica: 1000, connectionSecret: 'modelfleet-redis',
    });
  });

  it('leaves a model without stream: without the key', () => {
    const [model] = fleet('  - name: match-7-moto', '    path: examples/models/match-logreg-v1').models;
    expect(model && 'stream' in model).toBe(false);
  });

  it('merges the model\'s stream: over defaults.stream:, and picks the Kafka Secret for Kafka', () => {
    const spec = parseFleet(['defaults:', '  endpoint: probability', '  stream: { transport: kafka, maxReplicas: 9 }', 'models:',
      '  - name: a', '    parameters: [a]', '    path: examples/models/match-logreg-v1', '  - name: b', '    parameters: [b]', '    path: examples/models/match-logreg-v1',
      '    stream: { transport: redis, input: events, output: scores, deadLetter: events-bad, group: scorers, connectionSecret: my-redis }', ''].join('\n'), '/repo/models.yaml');
    expect(spec.models.map((m) => m.stream)).toEqual([
      { transport: 'kafka', input: 'modelfleet.a.inputs', output: 'modelfleet.a.outputs', deadLetter: 'modelfleet.a.dead-letter', group: 'modelfleet.a', batchSize: 256, maxReplicas: 9, lagPerReplica: 1000, connectionSecret: 'modelfleet-kafka' },
      { transport: 'redis', input: 'events', output: 'scores', deadLetter: 'events-bad', group: 'scorers', batchSize: 256, maxReplicas: 9, lagPerReplica: 1000, connectionSecret: 'my-redis' },
    ]);
  });

  it('reports bad values with their line, the key path and a fix', () => {
    const problems = problemsOf('  - name: match-7-moto', '    path: examples/models/match-logreg-v1', '    stream: { transport: nats, input: "in put", maxReplicas: 0, outptu: x }');
    expect(problems).toMatch(/models\.yaml:6:\d+ models\[0\]\.stream\.transport: must be one of redis, kafka, not text "nats"/);
    expect(problems).toMatch(/models\[0\]\.stream\.input: must be a topic name/);
    expect(problems).toMatch(/models\[0\]\.stream\.maxReplicas: must be at least 1/);
    expect(problems).toMatch(/models\[0\]\.stream\.outptu: unknown key "outptu"\n {4}hint: did you mean "output"\?/);
  });

  it('refuses an output or dead-letter topic that is the input', () => {
    const problems = problemsOf('  - name: m', '    path: examples/models/match-logreg-v1', '    stream: { input: events, output: events, deadLetter: events }');
    expect(problems).toMatch(/models\[0\]\.stream\.output: stream\.output and stream\.input are both "events"\n {4}hint: predictions and dead letters need topics of their own/);
    expect(problems).toMatch(/models\[0\]\.stream\.deadLetter: stream\.deadLetter and stream\.input are both "events"/);
  });

  it('refuses topic names under defaults: (every model would read one topic)', () => {
    const problems = (() => {
      try {
        parseFleet(['defaults:', '  endpoint: probability', '  stream: { input: events }', 'models:', '  - name: m', '    path: examples/models/match-logreg-v1', ''].join('\n'), '/repo/models.yaml');
      } catch (err) {
        if (err instanceof FleetInvalidError) return err.message;
      }
      return '';
    })();
    expect(problems).toMatch(/models\.yaml:3:\d+ defaults\.stream\.input: defaults\.stream\.input would give every model the same topic\n {4}hint: write input under each model's stream:/);
  });

  it('refuses a stream for a model that brings its own image, or splits traffic between variants', () => {
    expect(problemsOf('  - name: bike', '    image: { name: registry.example.com/bike:1, schema: schemas/bike.json }', '    stream: {}'))
      .toMatch(/models\[0\]\.stream\.transport: streaming needs modelfleet's worker, and this model brings its own image/);
    expect(problemsOf('  - name: m', '    ab:', '      variants:', '        - { name: a, weight: 50, path: examples/models/match-logreg-v1 }', '        - { name: b, weight: 50, path: examples/models/match-logreg-v1 }', '    stream: {}'))
      .toMatch(/stream\.transport: a stream is scored by one model version, and this model splits its traffic between A\/B variants/);
  });

  it('refuses a secret variable that would shadow the worker\'s connection', () => {
    expect(problemsOf('  - name: m', '    path: examples/models/match-logreg-v1', '    secretEnv: [{ name: KAFKA_BOOTSTRAP, secret: mine, key: b }]', '    stream: { transport: kafka }'))
      .toMatch(/stream\.connectionSecret: secretEnv sets KAFKA_BOOTSTRAP, which the stream worker takes from the Secret stream\.connectionSecret \(modelfleet-kafka\)/);
  });

  it('takes exactly the topic names Kafka takes', () => {
    const kafkaLegal = (name: string) => name.length >= 1 && name.length <= 249 && name !== '.' && name !== '..' && /^[A-Za-z0-9._-]+$/.test(name);
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '_', '-', ' ', '/', ':', 'é'), maxLength: 260 }), (name) => {
      expect(TOPIC_PATTERN.test(name)).toBe(kafkaLegal(name));
    }));
    fc.assert(fc.property(fc.stringMatching(/^[a-z][a-z0-9.-]{0,40}$/), (input) => {
      const [model] = fleet('  - name: m', '    path: examples/models/match-logreg-v1', `    stream: { input: "${input}" }`).models;
      expect(model?.stream?.input).toBe(input);
    }), { numRuns: 50 });
  });
});
