/**
 * The left-side panel: past %%cash runs grouped by dataset, a leaderboard per dataset, a run's
 * details, "Insert code", and which LLM the server's environment configures.
 *
 * Everything shown comes from the history, i.e. from data and recommenders: it is rendered as
 * React text nodes only (never as HTML), so a column named `<img onerror=…>` stays text; long
 * texts are clipped, with the whole text in their tooltip.
 */
import { Dialog, Notification, ReactWidget, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Message } from '@lumino/messaging';
import { Debouncer } from '@lumino/polling';
import * as React from 'react';

import { HistoryAPI, IDataset, IRun, IRunSummary, IStatus, ITrialSummary } from './api';

const TRIALS_PER_RUN = 3; // a run's best ones (the server lists them best first); details show all
const MAX_NAME = 80; // characters of a column or data name shown
const MAX_TEXT = 300; // characters of a rationale, note or error shown

export class CashSidebar extends ReactWidget {
  constructor(
    private api: HistoryAPI,
    private tracker: INotebookTracker
  ) {
    super();
    this.addClass('jp-LlmCash');
  }

  /** Fetch again soon; called whenever a kernel finishes work (a run may have completed). */
  scheduleRefresh(): void {
    if (this.isVisible) {
      void this.debouncer.invoke();
    }
  }

  async refresh(): Promise<void> {
    try {
      [this.datasets, this.status] = await Promise.all([this.api.datasets(), this.api.status()]);
      this.error = '';
      if (this.selected) {
        this.selected = await this.api.run(this.selected.id).catch(() => null);
      }
    } catch (error) {
      this.error = `could not read the history: ${(error as Error).message}`;
    }
    this.loaded = true;
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  dispose(): void {
    this.debouncer.dispose();
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <>
        <header className="jp-LlmCash-header">
          <h2>%%cash history</h2>
          <button className="jp-LlmCash-refresh jp-mod-styled" title="Refresh" onClick={() => void this.refresh()}>
            ↻
          </button>
        </header>
        {this.renderStatus()}
        {this.error && <div className="jp-LlmCash-error">{this.error}</div>}
        {this.loaded && !this.error && this.datasets.length === 0 && (
          <p className="jp-LlmCash-empty">No runs yet: run %%cash df target=… in a notebook.</p>
        )}
        {this.datasets.map(dataset => this.renderDataset(dataset))}
        {this.selected && this.renderDetails(this.selected)}
      </>
    );
  }

  private renderStatus(): React.ReactElement | null {
    if (!this.status) {
      return null;
    }
    const llm = this.status.llm;
    return (
      <div className="jp-LlmCash-status" title={`history: ${this.status.history}`}>
        {llm
          ? `LLM: ${llm.model} at ${llm.host}`
          : 'offline: no OPENAI_API_KEY or OPENAI_BASE_URL in the server environment, so the offline recommender answers'}
      </div>
    );
  }

  private renderDataset(dataset: IDataset): React.ReactElement {
    const direction = dataset.greater_is_better ? 'higher is better' : 'lower is better';
    return (
      <section className="jp-LlmCash-dataset" key={dataset.fingerprint} data-fingerprint={dataset.fingerprint}>
        <h3>
          <Clipped text={dataset.data_name} limit={MAX_NAME} />{' '}
          <span className="jp-LlmCash-shape">{shape(dataset)}</span>
        </h3>
        <div className="jp-LlmCash-meta">
          {dataset.task} · {dataset.metric} ({direction}) · {dataset.fingerprint}
        </div>
        <ScoreByRun dataset={dataset} />
        {dataset.leaderboard.length > 0 && (
          <>
            <h4>Leaderboard</h4>
            <ol className="jp-LlmCash-leaderboard">
              {dataset.leaderboard.map(entry => (
                <li key={entry.trial_id} onClick={() => void this.select(entry.run_id)}>
                  <Label label={entry.label} differs={entry.differs} />{' '}
                  <span className="jp-LlmCash-score">{score(entry.cv_mean, entry.cv_std)}</span>{' '}
                  <span className="jp-LlmCash-dim">{entry.source}</span>
                </li>
              ))}
            </ol>
          </>
        )}
        <h4>
          Runs{dataset.n_runs > dataset.runs.length ? ` (newest ${dataset.runs.length} of ${dataset.n_runs})` : ''}
        </h4>
        <ul className="jp-LlmCash-runs">
          {dataset.runs.map(run => this.renderRun(run))}
        </ul>
      </section>
    );
  }

  private renderRun(run: IRunSummary): React.ReactElement {
    const selected = this.selected?.id === run.id ? ' jp-mod-selected' : '';
    return (
      <li
        key={run.id}
        className={`jp-LlmCash-run${selected}`}
        data-run-id={run.id}
        onClick={() => void this.select(run.id)}
      >
        <span className="jp-LlmCash-dim">{when(run.created_at)}</span>{' '}
        <span className="jp-LlmCash-strategy">{run.strategy}</span>
        {run.trials.slice(0, TRIALS_PER_RUN).map(trial => (
          <div key={trial.id} className="jp-LlmCash-trial">
            <Label label={trial.label} differs={trial.differs} />{' '}
            <span className="jp-LlmCash-score">{outcome(trial)}</span>
          </div>
        ))}
        {run.trials.length > TRIALS_PER_RUN && (
          <div className="jp-LlmCash-trial jp-LlmCash-dim">+{run.trials.length - TRIALS_PER_RUN} more trials</div>
        )}
      </li>
    );
  }

  private renderDetails(run: IRun): React.ReactElement {
    return (
      <section className="jp-LlmCash-details" data-run-id={run.id} ref={el => this.reveal(el)}>
        <header className="jp-LlmCash-header">
          <h3>
            Run {run.id} · <Clipped text={run.data_name} limit={MAX_NAME} />
          </h3>
          <button className="jp-mod-styled" title="Close" onClick={() => this.select(null)}>
            ×
          </button>
        </header>
        <div className="jp-LlmCash-meta">
          {when(run.created_at)} · {run.strategy} · target <Clipped text={run.profile.target} limit={MAX_NAME} /> ·{' '}
          {run.task} · {run.metric}
        </div>
        {run.notes && (
          <p className="jp-LlmCash-notes">
            <Clipped text={run.notes} limit={MAX_TEXT} />
          </p>
        )}
        <h4>Columns</h4>
        <ul className="jp-LlmCash-columns">
          {run.profile.columns.map(column => (
            <li key={column.name}>
              <span className="jp-LlmCash-column">
                <Clipped text={column.name} limit={MAX_NAME} />
              </span>{' '}
              <span className="jp-LlmCash-dim">
                {column.kind}
                {column.why ? ` (${column.why})` : ''}
              </span>
            </li>
          ))}
        </ul>
        <h4>Recommendations</h4>
        <ol className="jp-LlmCash-recommendations">
          {run.recommendations.map((rec, i) => (
            <li key={i}>
              <Label label={rec.label} differs={rec.differs} />{' '}
              <span className="jp-LlmCash-rationale">
                <Clipped text={rec.rationale} limit={MAX_TEXT} />
              </span>
              {rec.notes.map((note, j) => (
                <div key={j} className="jp-LlmCash-dim">
                  <Clipped text={note} limit={MAX_TEXT} />
                </div>
              ))}
            </li>
          ))}
        </ol>
        {run.requests.map(request => (
          <details key={request.id} className="jp-LlmCash-prompt">
            <summary>
              Prompt to {request.model} at {request.endpoint} ({request.status})
            </summary>
            {request.messages.map((message, i) => (
              <pre key={i} className="jp-LlmCash-code">
                {`── ${message.role} ──\n${message.content}`}
              </pre>
            ))}
            {request.response && <pre className="jp-LlmCash-code">{`── answer ──\n${request.response}`}</pre>}
          </details>
        ))}
        <h4>Trained</h4>
        {run.trials.length === 0 && <div className="jp-LlmCash-dim">nothing trained yet</div>}
        {run.trials.map(trial => (
          <div key={trial.id} className="jp-LlmCash-trialDetails" data-trial-id={trial.id}>
            <div>
              <Label label={trial.label} differs={trial.differs} />{' '}
              <span className="jp-LlmCash-score">{outcome(trial)}</span>
              {trial.cv_scores && (
                <span className="jp-LlmCash-dim"> folds: {trial.cv_scores.map(s => s.toFixed(4)).join(', ')}</span>
              )}
            </div>
            {trial.error && (
              <div className="jp-LlmCash-error">
                <Clipped text={trial.error} limit={MAX_TEXT} />
              </div>
            )}
            <div className="jp-LlmCash-params">
              {Object.entries(trial.python.params)
                .map(([name, value]) => `${name}=${value}`)
                .join(', ')}
            </div>
            {Object.keys(trial.python.overrides).length > 0 && (
              <div className="jp-LlmCash-overrides">
                changed by you:{' '}
                {Object.entries(trial.python.overrides)
                  .map(([name, change]) => `${name} ${change.from} → ${change.to}`)
                  .join(', ')}
              </div>
            )}
            <div className="jp-LlmCash-actions">
              <button
                className="jp-LlmCash-insert jp-mod-styled jp-mod-accept"
                disabled={!trial.code}
                onClick={() => this.insertCode(trial.code)}
              >
                Insert code
              </button>
            </div>
            {trial.code && (
              <details className="jp-LlmCash-codeFold">
                <summary>code ({trial.code.split('\n').length} lines)</summary>
                <pre className="jp-LlmCash-code">{trial.code}</pre>
              </details>
            )}
          </div>
        ))}
        <div className="jp-LlmCash-actions">
          <button className="jp-LlmCash-forget jp-mod-styled jp-mod-warn" onClick={() => void this.forget(run)}>
            Forget this run
          </button>
        </div>
      </section>
    );
  }

  private async select(runId: string | null): Promise<void> {
    try {
      this.selected = runId ? await this.api.run(runId) : null;
      this.revealDetails = true;
    } catch (error) {
      this.error = `could not read run ${runId}: ${(error as Error).message}`;
    }
    this.update();
  }

  /** Scroll a run's details into view once, when it was clicked (not on every refresh). */
  private reveal(element: HTMLElement | null): void {
    if (element && this.revealDetails) {
      this.revealDetails = false;
      element.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Delete a run from the history, once the user confirmed: there is no undo. */
  private async forget(run: IRun): Promise<void> {
    const trials = run.trials.length === 1 ? '1 trial' : `${run.trials.length} trials`;
    const answer = await showDialog({
      title: `Forget run ${run.id}?`,
      body: `The run on ${clip(run.data_name, MAX_NAME)}, its ${trials} and its prompts leave the history for good.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Forget' })]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      await this.api.forget(run.id);
    } catch (error) {
      Notification.error(`Could not forget run ${run.id}: ${(error as Error).message}`, { autoClose: false });
      return;
    }
    this.selected = null;
    await this.refresh();
  }

  /** A new code cell below the active cell of the current notebook. */
  private insertCode(code: string): void {
    const panel = this.tracker.currentWidget;
    if (!panel?.content.model) {
      Notification.warning('Open a notebook to insert the code into.');
      return;
    }
    const notebook = panel.content;
    const index = notebook.activeCellIndex + 1;
    notebook.model!.sharedModel.insertCell(index, { cell_type: 'code', source: code });
    notebook.activeCellIndex = index;
    void notebook.scrollToItem(index);
  }

  private datasets: IDataset[] = [];
  private status: IStatus | null = null;
  private selected: IRun | null = null;
  private revealDetails = false;
  private error = '';
  private loaded = false;
  private debouncer = new Debouncer(() => this.refresh(), 500);
}

function score(mean: number | null, std: number | null): string {
  if (mean === null) {
    return '–';
  }
  return std === null ? mean.toFixed(4) : `${mean.toFixed(4)} ± ${std.toFixed(4)}`;
}

function outcome(trial: ITrialSummary): string {
  if (trial.status === 'done') {
    return score(trial.cv_mean, trial.cv_std);
  }
  return trial.status === 'failed' ? 'failed' : 'not run yet';
}

/** "442 rows × 10 features", as the panel counts features (the target and unused columns aside). */
function shape(dataset: IDataset): string {
  const rows = `${dataset.n_rows.toLocaleString()} rows`;
  return dataset.n_features === null
    ? `${rows} × ${dataset.n_columns} columns`
    : `${rows} × ${dataset.n_features} features`;
}

/** Whitespace collapsed (a name may span lines), cut to `limit` characters. */
function clip(text: string, limit: number): string {
  const flat = text.split(/\s+/).join(' ').trim();
  return flat.length <= limit ? flat : `${flat.slice(0, limit - 1)}…`;
}

/** A configuration: its family, then (dimmed) what sets it apart from the library's defaults. */
function Label({ label, differs }: { label: string; differs: string }): React.ReactElement {
  return (
    <>
      <span className="jp-LlmCash-family">{label}</span>
      {differs && <span className="jp-LlmCash-dim jp-LlmCash-differs"> ({differs})</span>}
    </>
  );
}

const CHART = { width: 220, height: 56, left: 4, right: 4, top: 6, bottom: 6 };

/**
 * The best score of each listed run, oldest to newest, as a line with a dot per run, the best
 * run's dot larger; the scores at the ends in the caption. References are not runs' results and
 * are left out. Nothing when fewer than two runs have a score.
 */
function ScoreByRun({ dataset }: { dataset: IDataset }): React.ReactElement | null {
  const best = (trials: ITrialSummary[]) =>
    trials.find(t => t.status === 'done' && t.cv_mean !== null && t.source !== 'reference')?.cv_mean ?? null;
  const points = dataset.runs
    .filter(run => run.metric === dataset.metric)
    .map(run => best(run.trials))
    .filter((v): v is number => v !== null)
    .reverse();
  if (points.length < 2) {
    return null;
  }
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const x = (i: number) => CHART.left + (i * (CHART.width - CHART.left - CHART.right)) / (points.length - 1);
  const up = (v: number) => (dataset.greater_is_better ? (v - low) / span : (high - v) / span); // better: higher
  const y = (v: number) => CHART.height - CHART.bottom - up(v) * (CHART.height - CHART.top - CHART.bottom);
  const winner = dataset.greater_is_better ? high : low;
  return (
    <figure className="jp-LlmCash-chart">
      <svg width={CHART.width} height={CHART.height} role="img" aria-label="best score by run">
        <polyline points={points.map((v, i) => `${x(i)},${y(v)}`).join(' ')} />
        {points.map((v, i) => (
          <circle key={i} cx={x(i)} cy={y(v)} r={v === winner ? 4 : 2.5}>
            <title>{v.toFixed(4)}</title>
          </circle>
        ))}
      </svg>
      <figcaption className="jp-LlmCash-dim">
        best {dataset.metric} by run, oldest to newest: {points[0].toFixed(4)} → {points[points.length - 1].toFixed(4)}{' '}
        (best {winner.toFixed(4)})
      </figcaption>
    </figure>
  );
}

/** A clipped text whose tooltip holds it whole. */
function Clipped({ text, limit }: { text: string; limit: number }): React.ReactElement {
  const shown = clip(text, limit);
  return <span title={shown === text ? undefined : text}>{shown}</span>;
}

function when(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}
