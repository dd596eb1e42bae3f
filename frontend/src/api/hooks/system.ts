// System (administrators): the scheduler, MITRE ATT&CK sync runs and bundle
// uploads, the audit log.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, unwrap, upload } from "../client";
import { useUploadMutation } from "./upload";

export const systemKeys = {
  jobs: ["jobs"],
  syncRuns: ["sync-runs"],
  audit: ["audit"],
};

export function useSchedulerStatus() {
  return useQuery({ queryKey: systemKeys.jobs, queryFn: () => unwrap(api.GET("/api/v1/system/scheduler-status")) });
}

/** The newest 20 sync runs, refreshed every second while one runs (its
 *  progress moves) and every 5 s otherwise, while shown. */
export function useSyncRuns() {
  return useQuery({
    queryKey: systemKeys.syncRuns,
    queryFn: () => unwrap(api.GET("/api/v1/system/mitre-sync-runs", { params: { query: { limit: 20 } } })),
    refetchInterval: (query) => (query.state.data?.items.some((r) => r.status === "running") ? 1000 : 5000),
  });
}

export function useSyncMitre() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/system/sync-mitre")),
    onSuccess: () => client.invalidateQueries({ queryKey: systemKeys.syncRuns }),
  });
}

/** Uploads a STIX bundle; the sync it starts shows among the runs. */
export function useUploadBundle() {
  const client = useQueryClient();
  return useUploadMutation(
    (file, onProgress) => upload("/api/v1/system/mitre-bundle", { file, onProgress }),
    () => client.invalidateQueries({ queryKey: systemKeys.syncRuns }),
  );
}

/** The newest 50 audit events. While shown, they refresh after every change
 *  made from this dashboard (each change is audited), and on `refetch`. */
export function useAudit() {
  const client = useQueryClient();
  useEffect(
    () =>
      client.getMutationCache().subscribe((event) => {
        if (event.type === "updated" && event.action.type === "success") {
          void client.invalidateQueries({ queryKey: systemKeys.audit });
        }
      }),
    [client],
  );
  return useQuery({
    queryKey: systemKeys.audit,
    queryFn: () => unwrap(api.GET("/api/v1/audit", { params: { query: { limit: 50 } } })),
  });
}
