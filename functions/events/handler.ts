import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { systemClock } from '../core/types';
import { loadEventsSettings } from '../settings';
import { alertEmitterFrom, eventsDlqFrom, reputationFrom, suppressionsFrom } from '../wiring';
import { createEventsHandler, type EventsHandler } from './events';

let handle: EventsHandler | undefined;

/** Builds the events function once per container from the environment (endpoints from AWS_ENDPOINT_URL_*). */
export function buildEventsHandler(env: Record<string, string | undefined> = process.env): EventsHandler {
  const settings = loadEventsSettings(env);
  const clock = systemClock;
  const logger = new Logger();
  const alerts = alertEmitterFrom(settings, { clock, logger });
  return createEventsHandler({
    reputation: reputationFrom(settings),
    ...(alerts && { alerts }),
    suppressions: suppressionsFrom(settings, clock),
    deadLetters: eventsDlqFrom(settings.eventsDlqUrl),
    // Powertools reads its own POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by the stack).
    logger,
    metrics: new Metrics(),
    clock,
    maxReceives: settings.eventMaxReceives,
  });
}

/** Lambda entry: the SES events queue (raw SNS delivery) with ReportBatchItemFailures. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  handle ??= buildEventsHandler();
  return handle(event, context);
};
