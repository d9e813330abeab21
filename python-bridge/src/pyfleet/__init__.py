"""pyfleet: the Python client SDK, and the generated protobuf code of the contract.

The generated modules live in the sub-packages named after the proto packages
(`pyfleet.pool.v1`, `pyfleet.compute.v1`, ...).
"""

__version__ = "0.1.0"
