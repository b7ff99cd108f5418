using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Xen.Store;

namespace Xen.DependencyInjection;

// Shared by the drivers' dependency-injection registrations (linked into Vchan, Netif and Blkif):
// finding the backends and Xenstore in the container, and owning what a driver's factory creates.
internal static class DriverServices
{
    /// <summary>
    /// Registers a driver's factory as a singleton made by <paramref name="create"/> from the backends,
    /// the Xenstore client if one is registered, and the driver's options.
    /// </summary>
    internal static IServiceCollection AddFactory<TEvents, TMemory, TOptions, TFactory>(IServiceCollection services, string registration,
        Action<TOptions>? configure, Func<TEvents, TMemory, XenstoreClient?, TOptions, TFactory> create)
        where TEvents : notnull
        where TMemory : notnull
        where TOptions : class
        where TFactory : class
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<TOptions>();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton(sp =>
        {
            // The backends and Xenstore first: the container disposes in reverse order, so the factory
            // (and the driver ends it still owns) goes before them.
            var events = Backend<TEvents>(sp, registration);
            var memory = Backend<TMemory>(sp, registration);
            var store = Xenstore(sp);
            return create(events, memory, store, sp.GetRequiredService<IOptions<TOptions>>().Value);
        });
        return services;
    }

    /// <summary>The registered backend <typeparamref name="T"/>, or an error that says how to register it.</summary>
    internal static T Backend<T>(IServiceProvider services, string registration)
        where T : notnull =>
        services.GetService(typeof(T)) is T backend
            ? backend
            : throw new InvalidOperationException(
                $"{registration} needs the backend {typeof(T).Name}, which is not registered. Register the backend first: "
                + "services.AddXenBackend() (the backend selected at build time, for the types XenEvents and XenMemory), "
                + $"or AddXenInHeap(), AddXenUnix() or AddXenctrl(), whose types must be {registration}'s type arguments.");

    /// <summary>
    /// The registered Xenstore client, connected now, or null when there is none. Resolved before the
    /// driver's factory, the container closes it after the factory.
    /// </summary>
    internal static XenstoreClient? Xenstore(IServiceProvider services) =>
        services.GetService<IServiceProviderIsService>()?.IsService(typeof(XenstoreClient)) == true
            ? services.GetRequiredService<XenstoreClient>()
            : null;

    /// <summary>The error for a Xenstore-based call without a registered client.</summary>
    internal static InvalidOperationException NoXenstore(string what) =>
        new($"{what} goes through Xenstore, and no Xenstore client is registered: call services.AddXenstore(...) as well.");
}

/// <summary>
/// What a driver's factory created and still owns: disposed, newest first, when the factory is. Held
/// weakly, so that what the caller disposed and dropped does not pile up.
/// </summary>
internal sealed class OwnedDrivers(string owner)
{
    private readonly Lock _lock = new();
    private readonly List<WeakReference<object>> _items = [];
    private bool _disposed;

    /// <summary>Takes <paramref name="item"/> in; if the factory was disposed meanwhile, disposes it and throws.</summary>
    internal T Add<T>(T item)
        where T : class
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _items.RemoveAll(static w => !w.TryGetTarget(out _));
                _items.Add(new WeakReference<object>(item));
                return item;
            }
        }
        DisposeAsync(item).AsTask().GetAwaiter().GetResult();
        throw new ObjectDisposedException(owner);
    }

    internal void ThrowIfDisposed()
    {
        lock (_lock)
            ObjectDisposedException.ThrowIf(_disposed, owner);
    }

    internal async ValueTask DisposeAllAsync()
    {
        WeakReference<object>[] items;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            items = [.. _items];
            _items.Clear();
        }
        for (var i = items.Length - 1; i >= 0; i--)
        {
            if (items[i].TryGetTarget(out var item))
                await DisposeAsync(item).ConfigureAwait(false);
        }
    }

    private static ValueTask DisposeAsync(object item)
    {
        if (item is IAsyncDisposable asyncDisposable)
            return asyncDisposable.DisposeAsync();
        (item as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }
}
