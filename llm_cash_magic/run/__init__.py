"""Stage 5 of the pipeline: running generated code and measuring configurations.

``execute`` runs a cell's code in the user's namespace; ``delivery`` decides where a Run's code
goes (a new notebook cell through the JupyterLab ``bridge``, or this kernel); ``evaluation`` is the
one cross-validation routine, ``holdout`` its counterpart on a Dask DataFrame (one held-out split
on the cluster); ``refine`` searches on from the recommendations with Optuna (imported only when a
refinement starts: Optuna is heavy).
"""
