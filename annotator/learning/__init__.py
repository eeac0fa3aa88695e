"""The model in the loop: retraining on a frozen snapshot of the chosen annotations, model
versions, and the proposals that order the coders' queue. `services` is the web half (start,
retry, cancel, activate, preview a selection); `runs` is what the train and infer workers run;
`au_report` reads a finished run's per-AU F1 for its page."""
