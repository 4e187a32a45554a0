import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS, type MetricKey } from './metrics';

type DimensionValues = Partial<Record<'route' | 'reason', string>>;

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
  const single = metrics.singleMetric();
  for (const name of spec.dimensions) single.addDimension(name, dims[name] ?? 'none');
  single.addMetric(spec.name, unit, value);
}
