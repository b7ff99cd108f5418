using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        // futex(2) ops without FUTEX_PRIVATE_FLAG: the word lives in a MAP_SHARED file page that other
        // processes wake, so the kernel must key it by the file, not by this address space.
        private const int FUTEX_WAIT = 0;
        private const int FUTEX_WAKE = 1;

        // The system call's number (glibc has no futex wrapper): asm/unistd_64.h on x86-64, asm-generic on arm64.
        private static readonly nint SysFutex = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 202,
            Architecture.Arm64 => 98,
            var other => throw new PlatformNotSupportedException($"No futex system call number is known for {other}."),
        };

        /// <summary>
        /// <c>futex(word, FUTEX_WAIT, expected)</c>: sleeps while <c>*word == expected</c>, until a
        /// <see cref="FutexWake"/> on the same word. Returns at once (<c>EAGAIN</c>) if the word differs,
        /// and may return early (<c>EINTR</c>, or for no reason): the caller looks again either way.
        /// </summary>
        internal static void FutexWait(uint* word, uint expected) => Syscall(SysFutex, word, FUTEX_WAIT, expected, null, null, 0);

        /// <summary><c>futex(word, FUTEX_WAKE, count)</c>: wakes up to <paramref name="count"/> sleepers on the word.</summary>
        internal static void FutexWake(uint* word, uint count) => Syscall(SysFutex, word, FUTEX_WAKE, count, null, null, 0);

        // syscall(3) is variadic; on the two architectures above its integer arguments travel in the
        // same registers as a fixed signature's, and glibc's stub reads no vector-count register.
        [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
        private static partial nint Syscall(nint number, uint* word, int op, uint value, void* timeout, uint* word2, uint value3);
    }
}
