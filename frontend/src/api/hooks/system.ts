// System (administrators): the scheduler, MITRE ATT&CK sync runs, the audit log.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export const systemKeys = {
  jobs: ["jobs"],
  syncRuns: ["sync-runs"],
  audit: ["audit"],
};

export function useSchedulerStatus() {
  return useQuery({ queryKey: systemKeys.jobs, queryFn: () => unwrap(api.GET("/api/v1/system/scheduler-status")) });
}

/** The newest 20 sync runs, refreshed every 5 s while shown. */
export function useSyncRuns() {
  return useQuery({
    queryKey: systemKeys.syncRuns,
    queryFn: () => unwrap(api.GET("/api/v1/system/mitre-sync-runs", { params: { query: { limit: 20 } } })),
    refetchInterval: 5000,
  });
}

export function useSyncMitre() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/system/sync-mitre")),
    onSuccess: () => client.invalidateQueries({ queryKey: systemKeys.syncRuns }),
  });
}

/** The newest 50 audit events. */
export function useAudit() {
  return useQuery({
    queryKey: systemKeys.audit,
    queryFn: () => unwrap(api.GET("/api/v1/audit", { params: { query: { limit: 50 } } })),
  });
}
