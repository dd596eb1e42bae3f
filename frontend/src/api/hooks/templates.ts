// Templates: the list, one template, writing, editing and deleting one, tests
// made from many at once, and the Atomic Red Team import of files and archives.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useRef, useState } from "react";
import { api, done, type Schemas, unwrap, upload } from "../client";
import { testKeys } from "./tests";
import { useUploadMutation } from "./upload";

export const templateKeys = {
  all: ["templates"],
  list: (q: string, offset: number) => ["templates", q, offset],
  detail: (id: string | null) => ["template", id],
};

/** A page of 50 templates matching `q` (all when empty). */
export function useTemplates(q: string, offset: number) {
  return useQuery({
    queryKey: templateKeys.list(q, offset),
    queryFn: () => unwrap(api.GET("/api/v1/templates", { params: { query: { q: q || undefined, limit: 50, offset } } })),
  });
}

/** One template; nothing is fetched without an id. */
export function useTemplate(id: string | null) {
  return useQuery({
    queryKey: templateKeys.detail(id),
    enabled: !!id,
    queryFn: () => unwrap(api.GET("/api/v1/templates/{id}", { params: { path: { id: id ?? "" } } })),
  });
}

export function useCreateTemplate() {
  return useMutation({
    mutationFn: (body: Schemas["NewTemplateInput"]) => unwrap(api.POST("/api/v1/templates", { body })),
  });
}

/** Saves an edit made on `version`; a newer version on the server is a 412. */
export function useUpdateTemplate(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, ...body }: Schemas["TemplatePatchInput"] & { version: number }) =>
      unwrap(api.PATCH("/api/v1/templates/{id}", { params: { path: { id }, header: { "If-Match": `"${version}"` } }, body })),
    onSuccess: (template) => {
      client.setQueryData(templateKeys.detail(id), template);
      client.invalidateQueries({ queryKey: templateKeys.all });
    },
  });
}

export function useDeleteTemplate(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => done(api.DELETE("/api/v1/templates/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: templateKeys.detail(id) });
      client.invalidateQueries({ queryKey: templateKeys.all });
    },
  });
}

/** One draft test per template, sharing the plan fields; one result each. */
export function useCreateTestsFromTemplates() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["FromTemplatesInput"]) => unwrap(api.POST("/api/v1/templates/tests", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: testKeys.all }),
  });
}

/** Imports an archive of atomics (.zip, .tar.gz, .tar); the server reports counts. */
export function useImportAtomicArchive() {
  const client = useQueryClient();
  return useUploadMutation(
    (file, onProgress) => upload("/api/v1/templates/import/atomic-archive", { file, onProgress }),
    () => {
      client.invalidateQueries({ queryKey: templateKeys.all });
    },
  );
}

/** Where one picked file stands in an import of many. */
export type FileImport = {
  name: string;
  state: "waiting" | "sending" | "done" | "failed";
  /** Upload progress, 0 to 1, while sending. */
  fraction: number;
  report?: Schemas["ImportReportView"];
  error?: unknown;
};

/** Imports many `Txxxx.yaml` files one after another (each its own request and
 *  transaction, as the API takes them), with each file's state. */
export function useImportAtomicFiles() {
  const client = useQueryClient();
  const [files, setFiles] = useState<FileImport[]>([]);
  const [running, setRunning] = useState(false);
  const cancelled = useRef(false);
  const update = (index: number, change: Partial<FileImport>) =>
    setFiles((all) => all.map((f, i) => (i === index ? { ...f, ...change } : f)));

  const start = useCallback(
    async (picked: { file: File; name: string }[]) => {
      cancelled.current = false;
      setRunning(true);
      setFiles(picked.map(({ name }) => ({ name, state: "waiting", fraction: 0 })));
      for (const [index, { file }] of picked.entries()) {
        if (cancelled.current) break;
        update(index, { state: "sending" });
        try {
          const report = await upload("/api/v1/templates/import/atomic", {
            file,
            onProgress: (fraction) => update(index, { fraction }),
          });
          update(index, { state: "done", fraction: 1, report });
        } catch (error) {
          update(index, { state: "failed", error });
        }
      }
      setRunning(false);
      client.invalidateQueries({ queryKey: templateKeys.all });
    },
    [client],
  );
  const stop = useCallback(() => {
    cancelled.current = true;
  }, []);
  return { files, running, start, stop };
}
