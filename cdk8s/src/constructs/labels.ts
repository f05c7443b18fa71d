import { ComponentRole, PART_OF } from '../platform-contract';

/** Labels a Service/Deployment selects on: stable across releases (no version). */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}

/** Labels every object and pod of one component carries. */
export function componentLabels(name: string, role: ComponentRole): Record<string, string> {
  return { ...selectorLabels(name), 'app.kubernetes.io/component': role, 'app.kubernetes.io/managed-by': 'cdk8s' };
}

/** Selects exactly the pods this layer deploys (the platform chart's pods are never matched). */
export const APP_PODS_SELECTOR: Record<string, string> = {
  'app.kubernetes.io/part-of': PART_OF,
  'app.kubernetes.io/managed-by': 'cdk8s',
};

/** app.kubernetes.io/part-of of the k6 runner pods: the gateway's NetworkPolicy admits exactly these. */
export const LOADTEST_PART_OF = 'eshop-loadtest';

/** Labels of k6-operator runner pods (TestRun spec.runner.metadata.labels). */
export const LOADTEST_POD_LABELS: Record<string, string> = { 'app.kubernetes.io/part-of': LOADTEST_PART_OF };
