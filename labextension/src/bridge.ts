/**
 * The frontend half of the cell bridge (the kernel half is llm_cash_magic/bridge.py).
 *
 * Every notebook kernel gets a comm target. When the kernel loads llm_cash_magic it opens a
 * comm to it and this side answers "ready"; a page that connects later (a reload) opens the comm
 * itself if the kernel already has one. The kernel then sends
 * {type: "insert-and-run", client, below, code}: insert `code` as a new code cell directly below
 * the cell whose id is `below` and run it. Only the client that made the request acts on it (the
 * kernel names it), so two open pages never both insert.
 */
import { ISessionContextDialogs, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

export const COMM_TARGET = 'llm_cash_magic';

interface IInsertAndRun {
  type: 'insert-and-run';
  client: string;
  below: string;
  code: string;
}

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
      const data = msg.content.data as unknown as IInsertAndRun;
      if (data.type === 'insert-and-run' && data.client === kernel.clientId) {
        void this.insertAndRun(kernel, data.below, data.code);
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
    const index = this.indexOf(panel, below) + 1;
    notebook.model!.sharedModel.insertCell(index, { cell_type: 'code', source: code });
    await NotebookActions.runCells(notebook, [notebook.widgets[index]], panel.sessionContext, this.dialogs);
  }

  private indexOf(panel: NotebookPanel, cellId: string): number {
    const cells = panel.content.model?.sharedModel.cells ?? [];
    return cells.findIndex(cell => cell.getId() === cellId);
  }
}
