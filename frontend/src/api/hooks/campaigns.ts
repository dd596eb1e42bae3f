// Campaigns: the list, one campaign, editing and deleting it, its steps,
// and the Navigator layer import.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, done, type Schemas, unwrap, upload } from "../client";
import { useUploadMutation } from "./upload";

export const campaignKeys = {
  all: ["campaigns"],
  list: ["campaigns", "list"],
  detail: (id: string) => ["campaign", id],
};

/** Every campaign (the first 200), for lists and pickers. */
export function useCampaigns() {
  return useQuery({
    queryKey: campaignKeys.list,
    queryFn: () => unwrap(api.GET("/api/v1/campaigns", { params: { query: { limit: 200 } } })),
  });
}

export function useCampaign(id: string) {
  return useQuery({
    queryKey: campaignKeys.detail(id),
    queryFn: () => unwrap(api.GET("/api/v1/campaigns/{id}", { params: { path: { id } } })),
  });
}

export function useCreateCampaign() {
  return useMutation({
    mutationFn: (body: Schemas["NewCampaignInput"]) => unwrap(api.POST("/api/v1/campaigns", { body })),
  });
}

/** Saves an edit made on `version`; a newer version on the server is a 412. */
export function useUpdateCampaign(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, ...body }: Schemas["CampaignPatchInput"] & { version: number }) =>
      unwrap(api.PATCH("/api/v1/campaigns/{id}", { params: { path: { id }, header: { "If-Match": `"${version}"` } }, body })),
    onSuccess: (campaign) => {
      client.setQueryData(campaignKeys.detail(id), campaign);
      client.invalidateQueries({ queryKey: campaignKeys.list });
    },
  });
}

/** Deletes a campaign no test belongs to (the server refuses others, 409). */
export function useDeleteCampaign(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => done(api.DELETE("/api/v1/campaigns/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: campaignKeys.detail(id) });
      client.invalidateQueries({ queryKey: campaignKeys.list });
    },
  });
}

export type CampaignStep = "activate" | "complete";

/** Activates or completes a campaign. */
export function useAdvanceCampaign(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (step: CampaignStep) => {
      const path: `/api/v1/campaigns/{id}/${CampaignStep}` = `/api/v1/campaigns/{id}/${step}`;
      return unwrap(api.POST(path, { params: { path: { id } } }));
    },
    onSuccess: (campaign) => client.setQueryData(campaignKeys.detail(id), campaign),
  });
}

/** Imports an ATT&CK Navigator layer file: one campaign per layer. */
export function useImportLayer() {
  const client = useQueryClient();
  return useUploadMutation(
    (file, onProgress) => upload("/api/v1/campaigns/import/navigator", { file, onProgress }),
    () => {
      client.invalidateQueries({ queryKey: campaignKeys.all });
    },
  );
}
