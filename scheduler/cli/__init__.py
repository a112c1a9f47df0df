"""The ``skybatch`` command line (argparse + rich), a thin layer over the client."""
