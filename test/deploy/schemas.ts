import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { ReferenceGrant } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/ReferenceGrant';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Kustomization as FluxKustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/**
 * The published OpenAPI schemas of Kubernetes (kubernetes-models), Knative
 * Serving (@kubernetes-models/knative), Istio networking
 * (@kubernetes-models/istio), the Gateway API, the Prometheus Operator and
 * Flux (@kubernetes-models/gateway-api, prometheus-operator, flux-cd),
 * compiled to ajv validators by those packages.
 * A kind not listed here fails the test: add its model when knative/ gains one.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'serving.knative.dev/v1/Service': KnativeService,
  'networking.istio.io/v1/VirtualService': VirtualService,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'gateway.networking.k8s.io/v1/Gateway': Gateway,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
  'gateway.networking.k8s.io/v1beta1/ReferenceGrant': ReferenceGrant,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': FluxKustomization,
};

/** Type names of the same models, for the strict (unknown field) check. */
export const MODEL_TYPES: Record<string, { module: string; type: string }> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', type: 'IService' },
  'v1/ServiceAccount': { module: 'kubernetes-models/v1/ServiceAccount', type: 'IServiceAccount' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'apps/v1/StatefulSet': { module: 'kubernetes-models/apps/v1/StatefulSet', type: 'IStatefulSet' },
  'batch/v1/Job': { module: 'kubernetes-models/batch/v1/Job', type: 'IJob' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', type: 'INetworkPolicy' },
  'serving.knative.dev/v1/Service': { module: '@kubernetes-models/knative/serving.knative.dev/v1/Service', type: 'IService' },
  'networking.istio.io/v1/VirtualService': {
    module: '@kubernetes-models/istio/networking.istio.io/v1/VirtualService',
    type: 'IVirtualService',
  },
  'monitoring.coreos.com/v1/PodMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
    type: 'IPodMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    type: 'IPrometheusRule',
  },
  'gateway.networking.k8s.io/v1/Gateway': {
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway',
    type: 'IGateway',
  },
  'gateway.networking.k8s.io/v1/HTTPRoute': {
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute',
    type: 'IHTTPRoute',
  },
  'gateway.networking.k8s.io/v1beta1/ReferenceGrant': {
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/ReferenceGrant',
    type: 'IReferenceGrant',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    type: 'IServiceMonitor',
  },
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': {
    module: '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization',
    type: 'IKustomization',
  },
};

/** Validates `object` against its published schema; throws naming every violation. */
export function validateObject(object: { apiVersion: string; kind: string }): void {
  const key = `${object.apiVersion}/${object.kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema registered for ${key} (test/deploy/schemas.ts)`);
  new Model(object as never).validate();
}

export function hasModel(object: { apiVersion: string; kind: string }): boolean {
  return `${object.apiVersion}/${object.kind}` in MODELS;
}
