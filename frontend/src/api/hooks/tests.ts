// Tests: lists, one test, its state machine, its halves, evidence and history.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { TransitionSlug } from "../../lib/workflow";
import { api, done, type Schemas, unwrap, upload } from "../client";
import type { operations } from "../schema";
import { useUploadMutation } from "./upload";

/** The list's filters, sorting and paging, as the API takes them. */
export type TestListQuery = NonNullable<operations["list_tests"]["parameters"]["query"]>;

export const testKeys = {
  all: ["tests"],
  list: (query: TestListQuery) => ["tests", query],
  detail: (id: string) => ["test", id],
  history: (id: string) => ["history", id],
  evidence: (id: string) => ["evidence", id],
};

export function useTests(query: TestListQuery) {
  return useQuery({
    queryKey: testKeys.list(query),
    queryFn: () => unwrap(api.GET("/api/v1/tests", { params: { query } })),
  });
}

export function useTest(id: string) {
  return useQuery({
    queryKey: testKeys.detail(id),
    queryFn: () => unwrap(api.GET("/api/v1/tests/{id}", { params: { path: { id } } })),
  });
}

export function useTestHistory(id: string) {
  return useQuery({
    queryKey: testKeys.history(id),
    queryFn: () => unwrap(api.GET("/api/v1/tests/{id}/history", { params: { path: { id }, query: { limit: 100 } } })),
  });
}

export type NewTest =
  | { from: "scratch"; body: Schemas["NewTestInput"] }
  | { from: "template"; templateId: string; body: Schemas["FromTemplateInput"] };

/** Plans a test, from scratch or from a template. */
export function useCreateTest() {
  return useMutation({
    mutationFn: (test: NewTest) =>
      test.from === "template"
        ? unwrap(api.POST("/api/v1/templates/{id}/tests", { params: { path: { id: test.templateId } }, body: test.body }))
        : unwrap(api.POST("/api/v1/tests", { body: test.body })),
  });
}

/** Takes a step of the state machine (`start-execution`, `complete`...). */
export function useTestStep(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (slug: TransitionSlug) => {
      // Typed as the set of its five routes: one the API lacks fails to compile.
      const path: `/api/v1/tests/{id}/${TransitionSlug}` = `/api/v1/tests/{id}/${slug}`;
      return unwrap(api.POST(path, { params: { path: { id } } }));
    },
    onSuccess: (updated) => {
      client.setQueryData(testKeys.detail(id), updated);
      client.invalidateQueries({ queryKey: testKeys.history(id) });
      client.invalidateQueries({ queryKey: testKeys.all });
    },
  });
}

/** A change to a test: a field left out stays, `null` clears it. */
export type TestChanges = Schemas["TestPatchInput"];

/** Saves a change against the version the user edited (`If-Match`): a
 *  newer version answers 412, which the page turns into a choice. */
export function usePatchTest(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, changes }: { version: number; changes: TestChanges }) =>
      unwrap(api.PATCH("/api/v1/tests/{id}", {
        params: { path: { id }, header: { "If-Match": `"${version}"` } },
        body: changes,
      })),
    onSuccess: (updated) => {
      client.setQueryData(testKeys.detail(id), updated);
      client.invalidateQueries({ queryKey: testKeys.history(id) });
      client.invalidateQueries({ queryKey: testKeys.all });
    },
  });
}

/** The active users a test can name, with the sides each may take. */
export function usePeople() {
  return useQuery({
    queryKey: ["people"],
    queryFn: () => unwrap(api.GET("/api/v1/tests/people")),
    staleTime: 60_000,
  });
}

export type BulkRequest = Schemas["BulkTestInput"];

/** One action on many tests; the answer says what became of each. */
export function useBulkTests() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: BulkRequest) => unwrap(api.POST("/api/v1/tests/bulk", { body })),
    onSuccess: (report) => {
      client.invalidateQueries({ queryKey: testKeys.all });
      for (const item of report.items) {
        client.invalidateQueries({ queryKey: testKeys.detail(item.id) });
        client.invalidateQueries({ queryKey: testKeys.history(item.id) });
      }
    },
  });
}

export function useEvidence(testId: string) {
  return useQuery({
    queryKey: testKeys.evidence(testId),
    queryFn: () => unwrap(api.GET("/api/v1/tests/{id}/evidence", { params: { path: { id: testId } } })),
  });
}

export function useUploadEvidence(testId: string) {
  const client = useQueryClient();
  return useUploadMutation(
    (file, onProgress) => upload("/api/v1/tests/{id}/evidence", { params: { id: testId }, file, onProgress }),
    async () => {
      await client.invalidateQueries({ queryKey: testKeys.evidence(testId) });
      await client.invalidateQueries({ queryKey: testKeys.history(testId) });
    },
  );
}

export function useDeleteEvidence(testId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (evidenceId: string) =>
      done(api.DELETE("/api/v1/tests/{id}/evidence/{evidence_id}", { params: { path: { id: testId, evidence_id: evidenceId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: testKeys.evidence(testId) }),
  });
}
