/**
 * The server extension's REST API under /llm-cash/ (see llm_cash_magic/server.py) and the
 * shapes it returns. Requests go through ServerConnection, which adds the token and XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface ITrialSummary {
  id: string;
  family: string;
  label: string; // the family as the panel names it
  differs: string; // what sets it apart from the family's library defaults ("alpha=3", "library defaults")
  source: string;
  status: 'pending' | 'done' | 'failed';
  cv_mean: number | null;
  cv_std: number | null;
  fit_seconds: number | null;
  error: string | null;
}

export interface ITrial extends ITrialSummary {
  params: Record<string, unknown>;
  overrides: Record<string, { from: unknown; to: unknown }>;
  python: {
    // the same values as Python writes them (JSON cannot tell 1.0 from 1)
    params: Record<string, string>;
    overrides: Record<string, { from: string; to: string }>;
  };
  code: string;
  cv_scores: number[] | null;
}

/** What identifies a dataset in the sidebar: its fingerprint, variable name, shape, task. */
interface IDatasetLabel {
  fingerprint: string;
  data_name: string;
  n_rows: number;
  n_columns: number;
  task: string;
  metric: string;
}

interface IRunFields extends IDatasetLabel {
  id: string;
  created_at: number;
  strategy: string;
  notes: string;
}

export interface IRunSummary extends IRunFields {
  trials: ITrialSummary[]; // best first
}

export interface IColumn {
  name: string;
  kind: string;
  why?: string;
}

export interface IRecommendation {
  family: string;
  label: string;
  differs: string;
  params: Record<string, unknown>;
  rationale: string;
  source: string;
  notes: string[];
}

export interface ILLMRequest {
  id: string;
  model: string;
  endpoint: string;
  strategy: string;
  status: string;
  messages: { role: string; content: string }[];
  response: string;
}

export interface IRun extends IRunFields {
  trials: ITrial[];
  profile: { target: string; columns: IColumn[] } & Record<string, unknown>;
  options: Record<string, unknown>;
  recommendations: IRecommendation[];
  requests: ILLMRequest[];
}

export interface ILeaderboardEntry {
  run_id: string;
  trial_id: string;
  family: string;
  label: string;
  differs: string;
  source: string; // who chose it: "offline", "llm:<model>", "refine", …
  cv_mean: number;
  cv_std: number | null;
}

export interface IDataset extends IDatasetLabel {
  n_features: number | null; // as the panel counts them; null if the newest run just went
  greater_is_better: boolean;
  n_runs: number;
  runs: IRunSummary[]; // the newest ones
  leaderboard: ILeaderboardEntry[];
}

export interface IStatus {
  version: string;
  history: string;
  llm: { model: string; host: string } | null;
}

export class HistoryAPI {
  constructor(private settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  async datasets(): Promise<IDataset[]> {
    return (await this.request<{ datasets: IDataset[] }>('datasets')).datasets;
  }

  run(id: string): Promise<IRun> {
    return this.request<IRun>(`runs/${encodeURIComponent(id)}`);
  }

  async forget(id: string): Promise<void> {
    await this.request(`runs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  status(): Promise<IStatus> {
    return this.request<IStatus>('status');
  }

  private async request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, 'llm-cash', endpoint);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    const body = text ? JSON.parse(text) : null;
    if (!response.ok) {
      throw new ServerConnection.ResponseError(response, body?.message ?? text);
    }
    return body as T;
  }
}
