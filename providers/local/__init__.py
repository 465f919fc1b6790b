"""The embedded local SageMaker: a loopback server that speaks the SageMaker
control-plane API and sagemaker-runtime's InvokeEndpoint, and really hosts models.

`daemon` manages a background server (`ensure_running`, `status`, `stop`,
`log_path`); `python -m providers.local` is its command line; `server` runs one
in the foreground. Importing this package imports nothing else.
"""
