import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** An alarm's settings; one evaluation period unless it says otherwise. */
export type AlarmSpec = Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number };

/**
 * An alarm of the stack: one period by default, and no data means no traffic, not trouble. With `topic`,
 * the topic hears when it fires and when it clears.
 */
export function stackAlarm(
  scope: Construct,
  id: string,
  spec: AlarmSpec,
  topic?: sns.ITopic,
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    ...spec,
  });
  if (topic) notify(topic, [alarm]);
  return alarm;
}

/** Tells `topic` when each alarm fires and when it clears. */
export function notify(topic: sns.ITopic, alarms: cloudwatch.Alarm[]): void {
  const action = new actions.SnsAction(topic);
  for (const alarm of alarms) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}

/** Fires as soon as a message is in `deadLetterQueue` (what it holds needs a look: `description`). */
export function deadLettersSpec(deadLetterQueue: sqs.IQueue, description: string): AlarmSpec {
  return {
    alarmDescription: description,
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  };
}
