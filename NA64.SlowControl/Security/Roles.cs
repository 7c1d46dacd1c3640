namespace NA64.SlowControl.Security;

/// <summary>What a user of the API may do. Ordered: each role includes everything the ones below it may do.</summary>
public enum Role
{
    /// <summary>Reads (status, runs, alarms). Reads need no token at all; the role exists for users files and policies.</summary>
    Viewer = 1,

    /// <summary>Operates the detector: switch channels on/off, standby, start and stop runs.</summary>
    Shifter = 2,

    /// <summary>Changes the installation: setpoints, limits, apply, fault injection.</summary>
    Expert = 3,
}

/// <summary>
/// Role names (as written in the users file and in the role claim) and the authorization policy names for
/// endpoints: <c>.RequireAuthorization(Roles.Shifter)</c>. A policy admits its role and every role above it.
/// </summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Shifter = "shifter";
    public const string Expert = "expert";

    public static IReadOnlyList<string> All { get; } = [Viewer, Shifter, Expert];

    public static string Name(Role role) => role switch
    {
        Role.Viewer => Viewer,
        Role.Shifter => Shifter,
        Role.Expert => Expert,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a role"),
    };

    /// <summary>The role of a name as written in a users file (exact, lower case); null for anything else.</summary>
    public static Role? Find(string? name) => name switch
    {
        Viewer => Role.Viewer,
        Shifter => Role.Shifter,
        Expert => Role.Expert,
        _ => null,
    };

    /// <summary>True when <paramref name="held"/> may do what <paramref name="needed"/> may.</summary>
    public static bool Includes(Role held, Role needed) => held >= needed;
}
