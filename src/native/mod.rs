//! Native modules: shared objects built against `include/pmodule.h`.
