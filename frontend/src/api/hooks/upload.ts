// A file upload as a mutation, with its progress (see `upload` in ../client).
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

/** `send` uploads the file and reports progress; `progress` is null when idle. */
export function useUploadMutation<T>(
  send: (file: File, onProgress: (fraction: number) => void) => Promise<T>,
  onSuccess?: (data: T) => unknown,
) {
  const [progress, setProgress] = useState<number | null>(null);
  const mutation = useMutation({
    mutationFn: (file: File) => {
      setProgress(0);
      return send(file, setProgress);
    },
    onSuccess,
    onSettled: () => setProgress(null),
  });
  return { ...mutation, progress };
}
