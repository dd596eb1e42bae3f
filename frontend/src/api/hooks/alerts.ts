// Alerts: the inbox, the rules and their kinds, evaluations and deliveries.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, done, type Schemas, unwrap } from "../client";
import type { AlertStatus } from "../enums";

export const alertKeys = {
  alerts: ["alerts"],
  inbox: (status: AlertStatus, offset: number) => ["alerts", status, offset],
  rules: ["alert-rules"],
  kinds: ["alert-kinds"],
  evaluations: ["alert-evaluations"],
  evaluationPage: (offset: number) => ["alert-evaluations", offset],
  deliveries: ["alert-deliveries"],
  lastDelivery: (ruleId: string) => ["alert-deliveries", ruleId],
};

/** A page of 50 alerts in `status`; the previous page stays shown while the next loads. */
export function useAlerts(status: AlertStatus, offset: number) {
  return useQuery({
    queryKey: alertKeys.inbox(status, offset),
    queryFn: () => unwrap(api.GET("/api/v1/alerts", { params: { query: { status, limit: 50, offset } } })),
    placeholderData: keepPreviousData,
  });
}

export type AlertAction = "acknowledge" | "resolve";

export function useAlertAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: AlertAction }) => {
      const path: `/api/v1/alerts/{id}/${AlertAction}` = `/api/v1/alerts/{id}/${action}`;
      return unwrap(api.POST(path, { params: { path: { id } } }));
    },
    onSuccess: () => client.invalidateQueries({ queryKey: alertKeys.alerts }),
  });
}

export function useAlertRules() {
  return useQuery({ queryKey: alertKeys.rules, queryFn: () => unwrap(api.GET("/api/v1/alert-rules")) });
}

export function useAlertKinds() {
  return useQuery({ queryKey: alertKeys.kinds, queryFn: () => unwrap(api.GET("/api/v1/alert-kinds")) });
}

/** Evaluating or deleting a rule changes what every tab shows. */
function useRefreshAlerts() {
  const client = useQueryClient();
  return () =>
    Promise.all(
      [alertKeys.rules, alertKeys.alerts, alertKeys.evaluations, alertKeys.deliveries].map((queryKey) => client.invalidateQueries({ queryKey })),
    );
}

export function useEvaluateRule() {
  const refreshAll = useRefreshAlerts();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/api/v1/alert-rules/{id}/evaluate", { params: { path: { id } } })),
    onSuccess: refreshAll,
  });
}

export function useDeleteRule() {
  const refreshAll = useRefreshAlerts();
  return useMutation({
    mutationFn: (id: string) => done(api.DELETE("/api/v1/alert-rules/{id}", { params: { path: { id } } })),
    onSuccess: refreshAll,
  });
}

/** Switches a rule off or on: everything as it is but `enabled`; an omitted webhook is kept. */
export function useToggleRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (r: Schemas["AlertRuleView"]) =>
      unwrap(api.PUT("/api/v1/alert-rules/{id}", {
        params: { path: { id: r.id } },
        body: {
          version: r.version, name: r.name, kind: r.kind, params: r.params, severity: r.severity, enabled: !r.enabled,
          campaign_id: r.campaign_id ?? undefined, tactic: r.tactic ?? undefined, platform: r.platform ?? undefined,
        },
      })),
    onSuccess: () => client.invalidateQueries({ queryKey: alertKeys.rules }),
  });
}

export function useCreateRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["AlertRuleInput"]) => unwrap(api.POST("/api/v1/alert-rules", { body })),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: alertKeys.rules });
    },
  });
}

/** A page of 50 evaluations, newest first. */
export function useAlertEvaluations(offset: number) {
  return useQuery({
    queryKey: alertKeys.evaluationPage(offset),
    queryFn: () => unwrap(api.GET("/api/v1/alert-evaluations", { params: { query: { limit: 50, offset } } })),
    placeholderData: keepPreviousData,
  });
}

/** The newest webhook delivery of a rule, if any. */
export function useLastDelivery(ruleId: string) {
  return useQuery({
    queryKey: alertKeys.lastDelivery(ruleId),
    queryFn: () => unwrap(api.GET("/api/v1/alert-rules/{id}/deliveries", { params: { path: { id: ruleId }, query: { limit: 1 } } })),
  });
}
