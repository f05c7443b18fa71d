import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, labelVariable, newDashboard, rate, row, sel, statPanel, timeSeries } from '../panels';

/**
 * Broker metrics are the names the JMX exporter rules in
 * charts/eshop-platform/templates/kafka-metrics-configmap.yaml produce (lowercased, `$1` expanded);
 * consumer-group and topic-offset metrics come from the Kafka exporter Strimzi runs next to the cluster.
 */
export function kafka(): dashboard.Dashboard {
  const total = 'topic=""'; // the broker-wide BrokerTopicMetrics series carry no topic label
  return newDashboard(
    'eshop-kafka',
    'eshop / Kafka (Strimzi)',
    'The eshop Kafka cluster as Strimzi exports it: broker JMX metrics (rules in the eshop-kafka-metrics ConfigMap: ' +
      'BrokerTopicMetrics, ReplicaManager, KafkaController, RequestMetrics, KRaft, log size, JVM) and the Kafka exporter ' +
      '(kafka_brokers, kafka_topic_partition_current_offset, kafka_consumergroup_lag/members). Scraped through the ' +
      'eshop-kafka PodMonitor (kafka.metrics.podMonitor.enabled). Cluster only.',
  )
    .withVariable(datasourceVariable())
    .withVariable(labelVariable('namespace', 'Namespace', 'kafka_server_replicamanager_partitioncount', 'namespace'))
    .withRow(row('Cluster health'))
    .withPanel(statPanel('Brokers (exporter)', [{ expr: `max(${sel('kafka_brokers')})` }], { size: { w: 4, h: 4 } }))
    .withPanel(statPanel('Active controllers', [{ expr: `sum(${sel('kafka_controller_kafkacontroller_activecontrollercount')})` }], { size: { w: 4, h: 4 }, description: 'Exactly 1 in a healthy KRaft cluster.' }))
    .withPanel(statPanel('Fenced brokers', [{ expr: `max(${sel('kafka_controller_kafkacontroller_fencedbrokercount')})` }], { size: { w: 4, h: 4 } }))
    .withPanel(statPanel('Offline partitions', [{ expr: `max(${sel('kafka_controller_kafkacontroller_offlinepartitionscount')})` }], { size: { w: 4, h: 4 } }))
    .withPanel(statPanel('Under-replicated partitions', [{ expr: `sum(${sel('kafka_server_replicamanager_underreplicatedpartitions')})` }], { size: { w: 4, h: 4 } }))
    .withPanel(statPanel('Under min ISR', [{ expr: `sum(${sel('kafka_server_replicamanager_underminisrpartitioncount')})` }], { size: { w: 4, h: 4 }, description: 'Partitions that refuse acks=all writes.' }))
    .withRow(row('Throughput'))
    .withPanel(
      timeSeries('Messages in by topic', [{ expr: rate('kafka_server_brokertopicmetrics_messagesinpersec_total', ['topic'], 'topic=~".+"'), legend: '{{topic}}' }], {
        unit: 'reqps',
        size: { w: 8, h: 8 },
      }),
    )
    .withPanel(
      timeSeries(
        'Bytes in / out by broker',
        [
          { expr: rate('kafka_server_brokertopicmetrics_bytesinpersec_total', ['pod'], total), legend: '{{pod}} in' },
          { expr: rate('kafka_server_brokertopicmetrics_bytesoutpersec_total', ['pod'], total), legend: '{{pod}} out' },
        ],
        { unit: 'Bps', size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries(
        'Failed produce / fetch requests',
        [
          { expr: rate('kafka_server_brokertopicmetrics_failedproducerequestspersec_total', ['pod'], total), legend: '{{pod}} produce' },
          { expr: rate('kafka_server_brokertopicmetrics_failedfetchrequestspersec_total', ['pod'], total), legend: '{{pod}} fetch' },
        ],
        { unit: 'reqps', size: { w: 8, h: 8 } },
      ),
    )
    .withRow(row('Requests'))
    .withPanel(
      timeSeries('Request time p99 by request', [{ expr: `max by (request) (${sel('kafka_network_requestmetrics_totaltimems', 'quantile="99thPercentile"')})`, legend: '{{request}}' }], {
        unit: 'ms',
        size: { w: 8, h: 8 },
        description: 'Broker-side total time (queue + local + remote + response) of Produce, FetchConsumer, FetchFollower, OffsetCommit and group requests.',
      }),
    )
    .withPanel(
      timeSeries('Request handler idle', [{ expr: `avg by (pod) (${sel('kafka_server_kafkarequesthandlerpool_requesthandleravgidlepercent')})`, legend: '{{pod}}' }], {
        unit: 'percentunit',
        min: 0,
        max: 1,
        size: { w: 8, h: 8 },
        description: 'Below ~30 % the I/O threads are the bottleneck.',
      }),
    )
    .withPanel(
      timeSeries('Request queue size', [{ expr: `max by (pod) (${sel('kafka_network_requestchannel_requestqueuesize')})`, legend: '{{pod}}' }], {
        size: { w: 8, h: 8 },
      }),
    )
    .withRow(row('Partitions and storage'))
    .withPanel(
      timeSeries(
        'Partitions and leaders per broker',
        [
          { expr: `sum by (pod) (${sel('kafka_server_replicamanager_partitioncount')})`, legend: '{{pod}} partitions' },
          { expr: `sum by (pod) (${sel('kafka_server_replicamanager_leadercount')})`, legend: '{{pod}} leaders' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries(
        'ISR shrinks / expands',
        [
          { expr: rate('kafka_server_replicamanager_isrshrinkspersec_total', ['pod']), legend: '{{pod}} shrinks' },
          { expr: rate('kafka_server_replicamanager_isrexpandspersec_total', ['pod']), legend: '{{pod}} expands' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries('Log size by topic', [{ expr: `sum by (topic) (${sel('kafka_log_log_size')})`, legend: '{{topic}}' }], {
        unit: 'bytes',
        size: { w: 8, h: 8 },
        description: 'All replicas counted.',
      }),
    )
    .withRow(row('Topics and consumer groups (Kafka exporter)'))
    .withPanel(
      timeSeries('Produce rate by topic (offsets)', [{ expr: rate('kafka_topic_partition_current_offset', ['topic'], 'topic!~"__.*"'), legend: '{{topic}}' }], {
        unit: 'reqps',
        size: { w: 8, h: 8 },
        description: 'Growth of the partitions\' latest offsets.',
      }),
    )
    .withPanel(
      timeSeries('Lag by consumer group and topic', [{ expr: `sum by (consumergroup, topic) (${sel('kafka_consumergroup_lag')})`, legend: '{{consumergroup}} {{topic}}' }], {
        size: { w: 8, h: 8 },
      }),
    )
    .withPanel(
      timeSeries('Consumer group members', [{ expr: `max by (consumergroup) (${sel('kafka_consumergroup_members')})`, legend: '{{consumergroup}}' }], {
        size: { w: 8, h: 8 },
      }),
    )
    .withRow(row('KRaft and JVM'))
    .withPanel(
      timeSeries('KRaft commit latency (avg)', [{ expr: `max by (pod) (${sel('kafka_server_raftmetrics_commit_latency_avg')})`, legend: '{{pod}}' }], {
        unit: 'ms',
        size: { w: 8, h: 8 },
      }),
    )
    .withPanel(
      timeSeries(
        'JVM heap',
        [
          { expr: `sum by (pod) (${sel('jvm_memory_heap_used_bytes')})`, legend: '{{pod}} used' },
          { expr: `sum by (pod) (${sel('jvm_memory_heap_max_bytes')})`, legend: '{{pod}} max' },
        ],
        { unit: 'bytes', size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries('GC collections', [{ expr: rate('jvm_gc_collection_total', ['pod', 'gc']), legend: '{{pod}} {{gc}}' }], {
        unit: 'ops',
        size: { w: 8, h: 8 },
      }),
    )
    .build();
}
