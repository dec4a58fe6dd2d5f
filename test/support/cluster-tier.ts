// setupFiles of the cluster tier: every TestWorld of these test files runs on this worker's Redis Cluster.
process.env.HI_TEST_REDIS = 'cluster';
