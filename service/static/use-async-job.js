// use-async-job.js — the seed's useAsyncJob() React hook, built on watchJob().
//
//   const scoringJob = useAsyncJob();
//   scoringJob.startJob(() => scoreContracts(criterion, workspace, 100, false, false, true));
//   scoringJob.isLoading, scoringJob.progress ({status, message, jobId, percent}),
//   scoringJob.result, scoringJob.error, scoringJob.cancel()
//
// React comes from the host app (a bundler, or an import map that names "react").
import { useCallback, useEffect, useRef, useState } from "react";
import { watchJob } from "./jobs-client.js";

export function useAsyncJob() {
  const [isLoading, setIsLoading] = useState(false);
  const [progress, setProgress] = useState(null);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const watcher = useRef(null);

  useEffect(() => () => watcher.current && watcher.current.stop(), []);

  const startJob = useCallback(async (start) => {
    if (watcher.current) watcher.current.stop();
    setIsLoading(true);
    setResult(null);
    setError(null);
    setProgress(null);
    try {
      const response = await start();
      const jobId = response.data.job_id;
      setProgress({ status: response.data.status, message: response.data.message, jobId, percent: null });
      watcher.current = watchJob(jobId, {
        onProgress: (job) =>
          setProgress({ status: job.status, message: job.message, jobId, percent: job.progress }),
        onComplete: (value) => {
          setResult(value);
          setIsLoading(false);
        },
        onError: (message) => {
          setError(message);
          setIsLoading(false);
        },
      });
    } catch (failure) {
      setError(failure.message);
      setIsLoading(false);
    }
  }, []);

  const cancel = useCallback(() => (watcher.current ? watcher.current.cancel() : Promise.resolve(null)), []);

  return { startJob, isLoading, progress, result, error, cancel };
}
