// Users (administrators) and the signed-in user's API tokens.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, done, type Schemas, unwrap } from "../client";

export const userKeys = {
  users: ["users"],
  tokens: ["tokens"],
};

export function useUsers() {
  return useQuery({
    queryKey: userKeys.users,
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { limit: 500 } } })),
  });
}

export function useCreateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CreateUserRequest"]) => unwrap(api.POST("/api/v1/users", { body })),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: userKeys.users });
    },
  });
}

/** Changes a user's role or reactivates them; `active: false` deactivates. */
export type UserChange = { id: string } & Schemas["UpdateUserRequest"];

export function useChangeUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: UserChange) =>
      body.active === false
        ? unwrap(api.POST("/api/v1/users/{id}/deactivate", { params: { path: { id } } }))
        : unwrap(api.PATCH("/api/v1/users/{id}", { params: { path: { id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: userKeys.users }),
  });
}

export function useTokens() {
  return useQuery({ queryKey: userKeys.tokens, queryFn: () => unwrap(api.GET("/api/v1/auth/tokens")) });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CreateTokenRequest"]) => unwrap(api.POST("/api/v1/auth/tokens", { body })),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: userKeys.tokens });
    },
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => done(api.DELETE("/api/v1/auth/tokens/{id}", { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: userKeys.tokens }),
  });
}
