// Plugins (administrators): the list, upload, switch on and off, configure, delete.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, done, type Schemas, unwrap, upload } from "../client";
import type { PluginKind } from "../enums";
import { useUploadMutation } from "./upload";

export const pluginKeys = {
  plugins: ["plugins"],
};

export function usePlugins() {
  return useQuery({
    queryKey: pluginKeys.plugins,
    queryFn: () => unwrap(api.GET("/api/v1/plugins", { params: { query: { limit: 200 } } })),
  });
}

/** Uploads a component of `kind`; the server checks it in the sandbox before storing it. */
export function useUploadPlugin(kind: PluginKind) {
  const client = useQueryClient();
  return useUploadMutation(
    (file, onProgress) => upload("/api/v1/plugins", { file, onProgress, fields: { kind } }),
    () => {
      client.invalidateQueries({ queryKey: pluginKeys.plugins });
    },
  );
}

export function useTogglePlugin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (p: Schemas["PluginView"]) => {
      const path: `/api/v1/plugins/{id}/${"enable" | "disable"}` = `/api/v1/plugins/{id}/${p.enabled ? "disable" : "enable"}`;
      return unwrap(api.POST(path, { params: { path: { id: p.id } } }));
    },
    onSuccess: () => client.invalidateQueries({ queryKey: pluginKeys.plugins }),
  });
}

export function useDeletePlugin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => done(api.DELETE("/api/v1/plugins/{id}", { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: pluginKeys.plugins }),
  });
}

/** Saves a plugin's configuration against the version shown. */
export function useConfigurePlugin(plugin: Pick<Schemas["PluginView"], "id" | "version">) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (config: Record<string, unknown>) =>
      unwrap(api.PUT("/api/v1/plugins/{id}/config", { params: { path: { id: plugin.id } }, body: { version: plugin.version, config } })),
    onSuccess: () => client.invalidateQueries({ queryKey: pluginKeys.plugins }),
  });
}
