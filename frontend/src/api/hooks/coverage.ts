// Coverage: the per-technique status, the KPIs and the snapshots behind the trend.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export const coverageKeys = {
  coverage: ["coverage"],
  kpis: ["kpis"],
  snapshots: ["snapshots"],
  trend: ["snapshots", "trend"],
};

export function useCoverage() {
  return useQuery({ queryKey: coverageKeys.coverage, queryFn: () => unwrap(api.GET("/api/v1/coverage")) });
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

/** Takes a snapshot now; the KPIs' "since last snapshot" changes with it. */
export function useTakeSnapshot() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/coverage/snapshots", { body: {} })),
    onSuccess: () =>
      client.invalidateQueries({ queryKey: coverageKeys.snapshots }).then(() => client.invalidateQueries({ queryKey: coverageKeys.kpis })),
  });
}
