// The packages and the sample target Linux: the backends use memfd, mmap, Unix sockets and /dev/xen.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
