/**
 * The frontend half of the cell bridge (the kernel half is llm_cash_magic/bridge.py).
 *
 * Every notebook kernel gets a comm target. When the kernel loads llm_cash_magic it opens a
 * comm to it and this side answers "ready"; a page that connects later (a reload) opens the comm
 * itself if the kernel already has one. The kernel then sends
 * {type: "insert-and-run", client, below, code}: insert `code` as a new code cell below the cell
 * whose id is `below`, after the cells inserted for it before (so they stay in run order), scroll
 * to it and run it; or {type: "copy", client, request, text}:
 * put `text` on the clipboard and answer {type: "copied", request, ok} (browsers may refuse).
 * Only the client that made the request acts on it (the kernel names it), so two open pages never
 * both insert.
 */
import { ISessionContextDialogs, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

export const COMM_TARGET = 'llm_cash_magic';
const METADATA = 'llm_cash_magic'; // an inserted cell's metadata: {below: the id of its %%cash cell}

type Request =
  | { type: 'insert-and-run'; client: string; below: string; code: string }
  | { type: 'copy'; client: string; request: string; text: string };

export class CellBridge {
  constructor(
    private tracker: INotebookTracker,
    private dialogs: ISessionContextDialogs
  ) {
    tracker.widgetAdded.connect((_, panel) => this.watch(panel));
    tracker.forEach(panel => this.watch(panel));
  }

  private watch(panel: NotebookPanel): void {
    const attach = () => {
      const kernel = panel.sessionContext.session?.kernel;
      if (kernel) {
        this.attach(kernel);
      }
    };
    panel.sessionContext.kernelChanged.connect(attach);
    attach();
  }

  private attached = new WeakSet<Kernel.IKernelConnection>();

  private attach(kernel: Kernel.IKernelConnection): void {
    if (this.attached.has(kernel) || !kernel.handleComms) {
      return;
    }
    this.attached.add(kernel);
    kernel.registerCommTarget(COMM_TARGET, comm => {
      this.listen(kernel, comm);
      comm.send({ type: 'ready' });
    });
    void kernel.requestCommInfo({ target_name: COMM_TARGET }).then(reply => {
      const content = reply.content;
      if (content.status === 'ok' && Object.keys(content.comms).length > 0) {
        const comm = kernel.createComm(COMM_TARGET);
        this.listen(kernel, comm);
        comm.open({ type: 'ready' });
      }
    });
  }

  private listen(kernel: Kernel.IKernelConnection, comm: Kernel.IComm): void {
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      const data = msg.content.data as unknown as Request;
      if (data.client !== kernel.clientId) {
        return;
      }
      if (data.type === 'insert-and-run') {
        void this.insertAndRun(kernel, data.below, data.code);
      } else if (data.type === 'copy') {
        void copy(data.text).then(ok => comm.send({ type: 'copied', request: data.request, ok }));
      }
    };
  }

  private async insertAndRun(kernel: Kernel.IKernelConnection, below: string, code: string): Promise<void> {
    // A copied notebook keeps its cell ids: look only at notebooks on the kernel that asked.
    const panel = this.tracker.find(
      p => p.sessionContext.session?.kernel?.id === kernel.id && this.indexOf(p, below) >= 0
    );
    if (!panel) {
      Notification.warning(
        'llm_cash_magic: the %%cash cell is no longer in an open notebook, so its code was not inserted.',
        { autoClose: false }
      );
      return;
    }
    const notebook = panel.content;
    const cells = notebook.model!.sharedModel.cells;
    let index = this.indexOf(panel, below) + 1;
    while (index < cells.length && insertedFor(cells[index].getMetadata(METADATA)) === below) {
      index++; // an earlier run's cell: the new one goes after it, so the newest is last
    }
    notebook.model!.sharedModel.insertCell(index, {
      cell_type: 'code',
      source: code,
      metadata: { [METADATA]: { below } }
    });
    notebook.activeCellIndex = index; // as Shift+Enter moves on
    const ran = NotebookActions.runCells(notebook, [notebook.widgets[index]], panel.sessionContext, this.dialogs);
    // After runCells' own scroll ('smart': the cell's bottom edge, measured before its code rendered),
    // show the new cell from its first line.
    void notebook.scrollToItem(index, 'start');
    await ran;
  }

  private indexOf(panel: NotebookPanel, cellId: string): number {
    const cells = panel.content.model?.sharedModel.cells ?? [];
    return cells.findIndex(cell => cell.getId() === cellId);
  }
}

/** The id of the %%cash cell a cell was inserted for (its metadata), if it was. */
function insertedFor(metadata: unknown): string | undefined {
  const below = (metadata as { below?: unknown } | undefined)?.below;
  return typeof below === 'string' ? below : undefined;
}

/** Put `text` on the clipboard; false when the browser has no clipboard API here or refuses. */
async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
