// Coverage: the per-technique status, the KPIs, the snapshots behind the
// trend and the comparison of two snapshots.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";

/** What a coverage query is narrowed to; nothing means every test. */
export interface CoverageScope {
  campaign_id?: string;
}

export const coverageKeys = {
  coverage: ["coverage"],
  scoped: (scope: CoverageScope) => ["coverage", scope.campaign_id ?? "all"],
  kpis: ["kpis"],
  snapshots: ["snapshots"],
  trend: ["snapshots", "trend"],
  snapshotList: ["snapshots", "list"],
  diff: (from: string, to: string) => ["snapshots", "diff", from, to],
};

/** Coverage of every test, or of one campaign's. */
export function useCoverage(scope: CoverageScope = {}) {
  return useQuery({
    queryKey: coverageKeys.scoped(scope),
    queryFn: () => unwrap(api.GET("/api/v1/coverage", { params: { query: scope.campaign_id ? { campaign_id: scope.campaign_id } : {} } })),
  });
}

export function useKpis() {
  return useQuery({ queryKey: coverageKeys.kpis, queryFn: () => unwrap(api.GET("/api/v1/dashboard/kpis")) });
}

/** The newest 60 snapshots, for the trend. */
export function useCoverageTrend() {
  return useQuery({
    queryKey: coverageKeys.trend,
    queryFn: () => unwrap(api.GET("/api/v1/coverage/snapshots", { params: { query: { limit: 60 } } })),
  });
}

/** The newest 200 snapshots, to pick two to compare. */
export function useSnapshotList() {
  return useQuery({
    queryKey: coverageKeys.snapshotList,
    queryFn: () => unwrap(api.GET("/api/v1/coverage/snapshots", { params: { query: { limit: 200 } } })),
  });
}

/** What changed from snapshot `from` to snapshot `to`; idle until both are chosen. */
export function useSnapshotDiff(from: string, to: string) {
  return useQuery({
    queryKey: coverageKeys.diff(from, to),
    queryFn: () => unwrap(api.GET("/api/v1/coverage/snapshots/diff", { params: { query: { from, to } } })),
    enabled: Boolean(from && to),
    placeholderData: keepPreviousData,
  });
}

/** Takes a snapshot now; the KPIs' "since last snapshot" changes with it. */
export function useTakeSnapshot() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/coverage/snapshots", { body: {} })),
    onSuccess: () =>
      client.invalidateQueries({ queryKey: coverageKeys.snapshots }).then(() => client.invalidateQueries({ queryKey: coverageKeys.kpis })),
  });
}
