"""bianmin: the command line that ties the service network's packages together.

The top of the layer stack (DESIGN.md): it may import every package; none imports it.
"""
