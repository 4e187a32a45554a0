import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS, type MetricKey } from './metrics';

type DimensionValues = Partial<Record<'route' | 'reason', string>>;

/**
 * One single-metric instance per Metrics object, reused: `singleMetric()` builds a whole Metrics (its
 * environment read, its own Console) each call, which cost more than the rest of a message's metrics. A
 * single metric publishes and clears its dimensions on `addMetric`, and `emit` is synchronous, so one
 * instance serves every call. The dispatcher sets no default dimensions after its first emit.
 */
const singles = new WeakMap<Metrics, Metrics>();

function singleFor(metrics: Metrics): Metrics {
  let single = singles.get(metrics);
  if (!single) {
    single = metrics.singleMetric();
    singles.set(metrics, single);
  }
  return single;
}

/**
 * Emits one metric of the shared table with exactly its listed dimensions: metrics with dimensions go
 * out as single metrics (a CloudWatch alarm matches one exact dimension set), the rest are buffered
 * until the handler publishes.
 */
export function emit(metrics: Metrics, key: MetricKey, value: number, dims: DimensionValues = {}): void {
  const spec = METRICS[key];
  const unit = spec.unit === 'Milliseconds' ? MetricUnit.Milliseconds : MetricUnit.Count;
  if (spec.dimensions.length === 0) {
    metrics.addMetric(spec.name, unit, value);
    return;
  }
  const single = singleFor(metrics);
  for (const name of spec.dimensions) single.addDimension(name, dims[name] ?? 'none');
  single.addMetric(spec.name, unit, value);
}
