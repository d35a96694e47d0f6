import { DEPLOY_NAME_HEADER, MODEL_HEADER, VARIANT_HEADER, VERSION_HEADER } from './proxy-request.js';
import { versionPath, type JsonSchema, type JsonValue, type RouteEntry, type RouteTable } from './route-table.js';

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error', 'route', 'model', 'reason'],
  properties: {
    error: { type: 'string', example: 'model unavailable' },
    route: { type: 'string' },
    model: { type: 'string' },
    variant: { type: 'string' },
    deployName: { type: 'string' },
    reason: { type: 'string' },
  },
};

const ANSWERED_BY: JsonSchema = {
  [MODEL_HEADER]: { description: 'The model that answered.', schema: { type: 'string' } },
  [VARIANT_HEADER]: { description: 'The A/B variant that answered.', schema: { type: 'string' } },
  [DEPLOY_NAME_HEADER]: { description: 'The deployment (Kubernetes name) that answered.', schema: { type: 'string' } },
  [VERSION_HEADER]: { description: 'The model version that answered, when the gateway knows it.', schema: { type: 'string' } },
};

/**
 * OpenAPI 3.0 document of every model route (https://spec.openapis.org/oas/v3.0.3).
 * The request body schema comes from the serving variants' MLflow signatures; when variants of one
 * route declare different inputs, the body may match any of them.
 */
export function buildOpenApiDocument(table: RouteTable, version: string): JsonSchema {
  const paths: Record<string, JsonValue> = {};
  for (const entry of table.routes) {
    const main = operation(entry);
    paths[entry.route] = { post: main };
    for (const version of versionsOf(entry)) paths[versionPath(entry.route, version)] = { post: versionOperation(entry, main, version) };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'modelfleet gateway',
      version,
      description: 'Every model of the fleet, one POST route each. Bodies follow MLflow\'s scoring protocol (/invocations).',
    },
    paths,
    components: { schemas: { GatewayError: ERROR_SCHEMA } },
  };
}

function operation(entry: RouteEntry): JsonSchema {
  const serving = entry.variants.filter((v) => !v.shadow);
  const schemas = unique(serving.flatMap((v) => (v.inputSchema ? [v.inputSchema] : [])));
  const example = serving.find((v) => v.inputExample !== undefined)?.inputExample;
  const bodySchema: JsonSchema = schemas.length === 0
    ? { type: 'object', description: 'MLflow scoring request (dataframe_split, dataframe_records, inputs or instances); the model\'s signature is not known to the gateway.' }
    : schemas.length === 1 ? (schemas[0] as JsonSchema) : { oneOf: schemas };
  const split = serving.map((v) => `${v.id} ${v.weight}% (${v.deployName}, ${v.source})`).join(', ');
  const shadows = entry.variants.filter((v) => v.shadow).map((v) => `${v.id} (${v.deployName})`);
  return {
    operationId: operationId(entry.model),
    summary: `Score with ${entry.model}`,
    description: `Variants: ${split}.${shadows.length > 0 ? ` Shadow (mirrored, answer dropped): ${shadows.join(', ')}.` : ''}`
      + ` Send the same \`${entry.stickyHeader}\` value to stay on one variant.`,
    tags: [entry.model],
    parameters: [{
      name: entry.stickyHeader,
      in: 'header',
      required: false,
      description: 'Sticky A/B key: the same value always reaches the same variant. Without it the variant is picked at random by weight.',
      schema: { type: 'string' },
    }],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: bodySchema, ...(example === undefined ? {} : { example }) } },
    },
    responses: {
      200: { description: 'The model\'s predictions (the model server\'s answer, passed through).', headers: ANSWERED_BY, content: { 'application/json': { schema: { type: 'object' } } } },
      400: { description: 'The body does not match the model\'s input schema (the model server names each problem).', headers: ANSWERED_BY, content: { 'application/json': { schema: { type: 'object' } } } },
      413: { description: 'The body is larger than the gateway accepts.', content: { 'application/json': { schema: { $ref: '#/components/schemas/GatewayError' } } } },
      503: { description: 'The variant\'s model server is down or did not answer in time.', headers: ANSWERED_BY, content: { 'application/json': { schema: { $ref: '#/components/schemas/GatewayError' } } } },
    },
  };
}

/** The versions a route answers at `<route>/versions/<version>`: its variants' current ones, then the kept ones. */
function versionsOf(entry: RouteEntry): string[] {
  return [...new Set([...entry.variants.flatMap((v) => (v.version === undefined ? [] : [v.version])), ...(entry.kept ?? []).map((k) => k.version)])];
}

function versionOperation(entry: RouteEntry, main: JsonSchema, version: string): JsonSchema {
  const current = entry.variants.find((v) => v.version === version);
  const kept = entry.kept?.find((k) => k.version === version);
  const who = current ? `variant ${current.id} (${current.deployName}), currently serving` : `variant ${kept?.id ?? ''} (${kept?.deployName ?? ''}), kept from an earlier deploy`;
  return {
    ...main,
    operationId: `${operationId(entry.model)}_version_${version.replace(/[^A-Za-z0-9_]+/g, '_')}`,
    summary: `Score with ${entry.model} version ${version}`,
    description: `Exactly version ${version}: ${who}. No A/B split and no shadows.`,
    parameters: [],
  };
}

function operationId(model: string): string {
  return `score_${model.replace(/[^A-Za-z0-9_]+/g, '_')}`;
}

function unique(schemas: readonly JsonSchema[]): JsonSchema[] {
  const seen = new Map<string, JsonSchema>();
  for (const schema of schemas) seen.set(JSON.stringify(schema), schema);
  return [...seen.values()];
}
