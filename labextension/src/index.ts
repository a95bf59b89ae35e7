/**
 * llm_cash_magic's JupyterLab extension: the history sidebar and the cell bridge. It asks for no
 * JupyterLab-only service (ILabShell): Notebook 7 loads it too, the sidebar in its left area.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISessionContextDialogs, SessionContextDialogs } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import iconSvg from '../style/icon.svg';
import { HistoryAPI } from './api';
import { CellBridge } from './bridge';
import { CashSidebar } from './sidebar';

const cashIcon = new LabIcon({ name: 'llm-cash-magic:icon', svgstr: iconSvg });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'llm-cash-magic:plugin',
  description: 'A sidebar over the %%cash history, and the bridge that runs generated code in a new cell.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ISessionContextDialogs],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    dialogs: ISessionContextDialogs | null
  ) => {
    new CellBridge(tracker, dialogs ?? new SessionContextDialogs());

    const sidebar = new CashSidebar(new HistoryAPI(app.serviceManager.serverSettings), tracker);
    sidebar.id = 'llm-cash-magic-sidebar';
    sidebar.title.icon = cashIcon;
    sidebar.title.caption = '%%cash history';
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, sidebar.id);

    // A run completes when the kernel that trained it goes idle: refresh then.
    tracker.widgetAdded.connect((_, panel) => {
      panel.sessionContext.statusChanged.connect((_, status) => {
        if (status === 'idle') {
          sidebar.scheduleRefresh();
        }
      });
    });
  }
};

export default plugin;
