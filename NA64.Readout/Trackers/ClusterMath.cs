namespace NA64.Readout.Trackers;

/// <summary>Cluster quantities from per-strip charges and frames, shared by the micromegas and GEM finders.</summary>
internal static class ClusterMath
{
    /// <summary>
    /// Charge = Σq, position = Σ(s·q)/Σq over the strips, frames summed strip by strip, and the time estimator of the
    /// README: the first moment of the three frame sums, t = (a1 + 2·a2)/(a0 + a1 + a2) = (1 + 2·r21)/(r01 + 1 + r21)
    /// in 25 ns samples after frame 0.
    /// </summary>
    public static TrackerCluster Build(int first, int count, ReadOnlySpan<double> q, ReadOnlySpan<double> f0,
        ReadOnlySpan<double> f1, ReadOnlySpan<double> f2, ReadOnlySpan<double> noiseSquared, PlaneGeometry geometry, ClusterFlags flags)
    {
        double charge = 0, moment = 0, s0 = 0, s1 = 0, s2 = 0, n2 = 0;
        for (int s = first; s < first + count; s++)
        {
            charge += q[s];
            moment += s * q[s];
            s0 += f0[s];
            s1 += f1[s];
            s2 += f2[s];
            n2 += noiseSquared[s];
        }
        return Finish(first, count, charge, moment, s0, s1, s2, n2, geometry, flags);
    }

    /// <summary>The cluster from its sums over the strips (in increasing strip order): Σq, Σs·q, Σ of each frame, Σσ².</summary>
    public static TrackerCluster Finish(int first, int count, double charge, double moment, double s0, double s1, double s2,
        double n2, PlaneGeometry geometry, ClusterFlags flags)
    {
        // A cluster whose strips all carry zero charge after sharing has no centroid; its geometric centre is the
        // only honest position.
        double position = charge > 0 ? moment / charge : first + (count - 1) / 2.0;
        double r01 = double.NaN, r21 = double.NaN, time = double.NaN;
        if (s1 > 0)
        {
            r01 = s0 / s1;
            r21 = s2 / s1;
            double sum = s0 + s1 + s2;
            time = sum > 0 ? (s1 + 2 * s2) / sum : double.NaN;
        }
        if (double.IsNaN(time)) flags |= ClusterFlags.TimeUndefined;
        return new TrackerCluster(first, count, charge, position, geometry.PositionMm(position), time, r01, r21, Math.Sqrt(n2), flags);
    }
}
