"""The network fault lab: namespaces, veth links, real link cuts (see netlab.py)."""
