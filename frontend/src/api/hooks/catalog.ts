// The ATT&CK catalog: matrix, tactics and techniques.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export interface TechniqueFilter {
  q: string;
  tactic: string;
  offset: number;
}

export const catalogKeys = {
  matrix: ["matrix"],
  tactics: ["tactics"],
  techniques: ({ q, tactic, offset }: TechniqueFilter) => ["techniques", q, tactic, offset],
  technique: (id: string) => ["technique", id],
};

export function useMatrix() {
  return useQuery({ queryKey: catalogKeys.matrix, queryFn: () => unwrap(api.GET("/api/v1/matrix")) });
}

export function useTactics() {
  return useQuery({ queryKey: catalogKeys.tactics, queryFn: () => unwrap(api.GET("/api/v1/tactics")) });
}

/** A page of 50 techniques; empty filters are left out. */
export function useTechniques(filter: TechniqueFilter) {
  return useQuery({
    queryKey: catalogKeys.techniques(filter),
    queryFn: () =>
      unwrap(api.GET("/api/v1/techniques", {
        params: { query: { q: filter.q || undefined, tactic: filter.tactic || undefined, limit: 50, offset: filter.offset } },
      })),
  });
}

export function useTechnique(id: string) {
  return useQuery({
    queryKey: catalogKeys.technique(id),
    queryFn: () => unwrap(api.GET("/api/v1/techniques/{attack_id}", { params: { path: { attack_id: id } } })),
  });
}

/** The templates for a technique (its sub-techniques' included), up to 100.
 *  Keyed under "templates" so template changes refresh it. */
export function useTechniqueTemplates(id: string) {
  return useQuery({
    queryKey: ["templates", "for-technique", id],
    queryFn: () => unwrap(api.GET("/api/v1/templates", { params: { query: { technique: id, limit: 100 } } })),
  });
}
