// Templates: the list, one template, writing one, Atomic Red Team import.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap, upload } from "../client";
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

/** Imports one Atomic Red Team `Txxxx.yaml`. */
export function useImportAtomic() {
  const client = useQueryClient();
  return useUploadMutation(
    (file, onProgress) => upload("/api/v1/templates/import/atomic", { file, onProgress }),
    () => {
      client.invalidateQueries({ queryKey: templateKeys.all });
    },
  );
}
