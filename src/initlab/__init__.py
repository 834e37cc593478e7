"""initlab: a lab for neural-network weight initialization.

The core needs only NumPy.  Import submodules as you need them::

    from initlab import schemes            # every initialization scheme, fans, gains, registry
"""

__version__ = "0.1.0"
