// Reports: the list (polled while any is being generated), formats, generate, delete.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, done, type Schemas, unwrap } from "../client";

export const reportKeys = {
  reports: ["reports"],
  formats: ["report-formats"],
};

export function useReports() {
  return useQuery({
    queryKey: reportKeys.reports,
    queryFn: () => unwrap(api.GET("/api/v1/reports", { params: { query: { limit: 100 } } })),
    // Poll while anything is still being generated.
    refetchInterval: (query) => (query.state.data?.items.some((r) => r.status === "queued" || r.status === "running") ? 1000 : false),
  });
}

export function useReportFormats() {
  return useQuery({ queryKey: reportKeys.formats, queryFn: () => unwrap(api.GET("/api/v1/report-formats")) });
}

export function useGenerateReport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["ReportInput"]) => unwrap(api.POST("/api/v1/reports", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: reportKeys.reports }),
  });
}

export function useDeleteReport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => done(api.DELETE("/api/v1/reports/{id}", { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: reportKeys.reports }),
  });
}
