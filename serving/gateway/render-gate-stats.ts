import { HOLD_BUCKETS, type ColdStartGate } from './cold-start-gate.js';

const COLD_STARTS = 'modelfleet_gateway_cold_starts_total';
const HOLD = 'modelfleet_gateway_cold_start_hold_seconds';
const PENDING = 'modelfleet_gateway_pending_requests';
const IN_FLIGHT = 'modelfleet_gateway_in_flight_requests';
const TURNED_AWAY = 'modelfleet_gateway_cold_start_rejections_total';

/**
 * Prometheus text of every variant that may sleep: cold starts, hold times, and the demand a
 * scaler reads (held and in-flight requests per deployment; KEDA's trigger, docs/gateway.md).
 * Made at scrape time from the gates' plain fields; nothing here runs per request.
 */
export function renderGateStats(gates: Iterable<ColdStartGate>): string {
  const all = [...gates];
  if (all.length === 0) return '';
  const lines = [
    `# HELP ${COLD_STARTS} Wake-ups of a sleeping variant that had requests waiting, by route and variant.`,
    `# TYPE ${COLD_STARTS} counter`,
    ...all.map((g) => `${COLD_STARTS}{${labels(g)}} ${g.coldStarts}`),
    '',
    `# HELP ${HOLD} How long requests were held while their variant woke, by route and variant.`,
    `# TYPE ${HOLD} histogram`,
  ];
  for (const g of all) {
    const base = labels(g);
    let cumulative = 0;
    HOLD_BUCKETS.forEach((le, i) => {
      cumulative += g.holdBuckets[i] as number;
      lines.push(`${HOLD}_bucket{${base},le="${le}"} ${cumulative}`);
    });
    lines.push(`${HOLD}_bucket{${base},le="+Inf"} ${g.holdCount}`, `${HOLD}_sum{${base}} ${g.holdSum}`, `${HOLD}_count{${base}} ${g.holdCount}`);
  }
  lines.push('', `# HELP ${TURNED_AWAY} Requests answered 503 because the hold queue was full or the hold deadline passed.`, `# TYPE ${TURNED_AWAY} counter`);
  for (const g of all) lines.push(`${TURNED_AWAY}{${labels(g)}} ${g.turnedAway}`);
  lines.push('', `# HELP ${PENDING} Requests held now while their variant wakes (what KEDA scales from zero on).`, `# TYPE ${PENDING} gauge`);
  for (const g of all) lines.push(`${PENDING}{${labels(g)}} ${g.pending}`);
  lines.push('', `# HELP ${IN_FLIGHT} Requests between arrival and answer, held ones included, of variants that may sleep.`, `# TYPE ${IN_FLIGHT} gauge`);
  for (const g of all) lines.push(`${IN_FLIGHT}{${labels(g)}} ${g.inFlight}`);
  return `${lines.join('\n')}\n`;
}

function labels(g: ColdStartGate): string {
  return Object.entries(g.labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}
