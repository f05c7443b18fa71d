import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, namespaceVariable, newDashboard, quantile, rate, row, sel, statPanel, timeSeries } from '../panels';

/** Consumer group, Deployment and HPA names of the lag-scaled order consumers (cdk8s platform-contract.ts). */
export const ORDER_CONSUMERS = {
  group: 'order-consumers',
  topic: 'order-events',
  deployment: 'order-consumer',
  /** KEDA names its HPA keda-hpa-<ScaledObject>; the hpa-external mode names it after the Deployment. */
  hpaRegex: '(keda-hpa-)?order-consumer',
} as const;

/** The async order path end to end: intake, outbox, Kafka, consumers and their scaling, outcome. */
export function orderPipeline(): dashboard.Dashboard {
  const c = ORDER_CONSUMERS;
  return newDashboard(
    'eshop-order-pipeline',
    'eshop / Order pipeline',
    'Async orders from 202 to confirmation: intake by mode and outcome, accept→confirm latency, consumer throughput, ' +
      'lag per partition (app-side kafka_consumer_lag_messages and broker-side kafka_consumergroup_lag from the Strimzi Kafka exporter), ' +
      'consumer replicas and HPA target (kube-state-metrics), dead-lettered messages, the transactional outbox and the Kafka producers. ' +
      'Broker-side lag and replica panels need a cluster (Kafka exporter, kube-state-metrics).',
  )
    .withVariable(datasourceVariable())
    .withVariable(namespaceVariable())
    .withRow(row('Intake and outcome'))
    .withPanel(
      timeSeries('Orders by mode and outcome', [{ expr: rate('orders_total', ['mode', 'outcome']), legend: '{{mode}} {{outcome}}' }], {
        unit: 'reqps',
        size: { w: 8, h: 8 },
        description: 'async accepted = 202s; async confirmed/rejected = outcomes decided by the consumers; failed = sync 5xx.',
      }),
    )
    .withPanel(
      timeSeries(
        'Accept → confirm latency',
        [
          { expr: quantile(0.5, 'order_async_confirmation_seconds', []), legend: 'p50' },
          { expr: quantile(0.95, 'order_async_confirmation_seconds', []), legend: 'p95' },
          { expr: quantile(0.95, 'order_async_confirmation_seconds', ['outcome']), legend: 'p95 {{outcome}}' },
        ],
        { unit: 's', size: { w: 8, h: 8 }, description: 'Time from the 202 until the order was confirmed or rejected.' },
      ),
    )
    .withPanel(
      timeSeries('Stock reservations by outcome', [{ expr: rate('inventory_reservations_total', ['outcome']), legend: '{{outcome}}' }], {
        unit: 'reqps',
        stacked: true,
        size: { w: 8, h: 8 },
        description: 'Product service: reserved, replayed (idempotent retry), insufficient_stock, unavailable, conflict.',
      }),
    )
    .withRow(row('Consumers'))
    .withPanel(
      timeSeries(
        'Consumer throughput',
        [
          { expr: rate('kafka_consumer_messages_processed_total', ['group', 'topic']), legend: '{{group}} {{topic}} processed' },
          { expr: rate('kafka_consumer_message_failures_total', ['group', 'topic']), legend: '{{group}} {{topic}} failed attempts' },
          { expr: rate('kafka_consumer_message_retries_total', ['group', 'topic']), legend: '{{group}} {{topic}} retries' },
        ],
        { unit: 'reqps', size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries('Processing time p95', [{ expr: quantile(0.95, 'kafka_consumer_message_processing_duration_seconds', ['group', 'topic']), legend: '{{group}} {{topic}}' }], {
        unit: 's',
        size: { w: 8, h: 8 },
        description: 'One message, retries included.',
      }),
    )
    .withPanel(
      timeSeries(
        'Dead-lettered messages',
        [{ expr: rate('kafka_consumer_messages_dead_lettered_total', ['group', 'topic']), legend: '{{group}} {{topic}}' }],
        { unit: 'reqps', size: { w: 8, h: 8 }, description: 'Poison messages copied to order-events.dlq. Should be 0.' },
      ),
    )
    .withPanel(
      timeSeries(
        'Lag per partition (app-side)',
        [{ expr: `max by (group, topic, partition) (${sel('kafka_consumer_lag_messages')})`, legend: '{{topic}}/{{partition}}' }],
        { size: { w: 12, h: 8 }, description: 'kafka_consumer_lag_messages: high watermark minus position, reported by the consumer holding the partition.' },
      ),
    )
    .withPanel(
      timeSeries(
        'Lag per partition (broker-side, Kafka exporter)',
        [{ expr: `sum by (topic, partition) (${sel('kafka_consumergroup_lag', `consumergroup="${c.group}"`)})`, legend: '{{topic}}/{{partition}}' }],
        { size: { w: 12, h: 8 }, description: 'kafka_consumergroup_lag from the Strimzi Kafka exporter: committed offsets, what KEDA scales on. Cluster only.' },
      ),
    )
    .withPanel(
      timeSeries(
        'Consumer replicas (kube-state-metrics)',
        [
          { expr: `sum(${sel('kube_deployment_status_replicas', `deployment="${c.deployment}"`)})`, legend: 'replicas' },
          { expr: `sum(${sel('kube_horizontalpodautoscaler_status_desired_replicas', `horizontalpodautoscaler=~"${c.hpaRegex}"`)})`, legend: 'HPA desired' },
          { expr: `sum(${sel('kube_horizontalpodautoscaler_spec_max_replicas', `horizontalpodautoscaler=~"${c.hpaRegex}"`)})`, legend: 'HPA max' },
        ],
        { size: { w: 12, h: 8 }, description: 'Deployment order-consumer and the HPA that scales it (KEDA: keda-hpa-order-consumer). Cluster only.' },
      ),
    )
    .withPanel(
      timeSeries(
        'Consumer processes and assigned partitions',
        [
          { expr: `count by (group) (${sel('kafka_consumer_assigned_partitions')})`, legend: '{{group}} processes' },
          { expr: `sum by (group) (${sel('kafka_consumer_assigned_partitions')})`, legend: '{{group}} partitions assigned' },
        ],
        { size: { w: 12, h: 8 }, description: 'App-side view of the group: consumers running and partitions they hold (a replica above the partition count holds none).' },
      ),
    )
    .withRow(row('DLQ, outbox and producers'))
    .withPanel(
      statPanel('Dead-lettered in range', [{ expr: `sum(increase(${sel('kafka_consumer_messages_dead_lettered_total')}[$__range]))` }], {
        size: { w: 6, h: 7 },
        description: 'Messages sent to the DLQ within the dashboard time range.',
      }),
    )
    .withPanel(
      timeSeries(
        'Outbox backlog and oldest event age',
        [
          { expr: `max by (service) (${sel('outbox_backlog_events')})`, legend: '{{service}} backlog' },
          { expr: `max by (service) (${sel('outbox_oldest_event_age_seconds')})`, legend: '{{service}} oldest age (s)' },
        ],
        { size: { w: 6, h: 7 }, description: 'Unpublished outbox rows and the age of the oldest; a growing age means the relay is stuck.' },
      ),
    )
    .withPanel(
      timeSeries(
        'Outbox publishing',
        [
          { expr: rate('outbox_events_published_total', ['service', 'topic']), legend: '{{service}} → {{topic}}' },
          { expr: rate('outbox_publish_failures_total', ['service']), legend: '{{service}} failed batches' },
        ],
        { unit: 'reqps', size: { w: 6, h: 7 } },
      ),
    )
    .withPanel(
      timeSeries(
        'Commit → Kafka ack p95',
        [
          { expr: quantile(0.95, 'outbox_event_delay_seconds', ['service']), legend: '{{service}} event delay' },
          { expr: quantile(0.95, 'outbox_publish_duration_seconds', ['service']), legend: '{{service}} batch send' },
        ],
        { unit: 's', size: { w: 6, h: 7 } },
      ),
    )
    .withPanel(
      timeSeries(
        'Kafka producer sends',
        [
          { expr: rate('kafka_producer_messages_sent_total', ['service', 'topic']), legend: '{{service}} → {{topic}} sent' },
          { expr: rate('kafka_producer_send_failures_total', ['service', 'topic']), legend: '{{service}} → {{topic}} failed' },
        ],
        { unit: 'reqps', size: { w: 12, h: 7 }, description: 'Messages the cluster acknowledged (acks=all) and sends that failed after the producer\'s retries.' },
      ),
    )
    .withPanel(
      timeSeries('Kafka producer send p95', [{ expr: quantile(0.95, 'kafka_producer_send_duration_seconds', ['service', 'topic']), legend: '{{service}} → {{topic}}' }], {
        unit: 's',
        size: { w: 12, h: 7 },
        description: 'Send request until acknowledgement, retries included (successful sends).',
      }),
    )
    .build();
}
