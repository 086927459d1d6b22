package serve

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "pz/internal/kservepb"
	"pz/orchestrator/engine/triton/wire"
)

// GRPCOptions are the server options RegisterGRPC expects its grpc.Server
// to be made with: auth and metrics interceptors and the size limit.
func (s *Server) GRPCOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.o.MaxRequestBytes)),
		grpc.MaxSendMsgSize(1 << 30),
		grpc.UnaryInterceptor(s.unaryInterceptor),
		grpc.StreamInterceptor(s.streamInterceptor),
	}
}

// NewGRPC makes a gRPC server with the inference and health services.
func (s *Server) NewGRPC(extra ...grpc.ServerOption) *grpc.Server {
	g := grpc.NewServer(append(s.GRPCOptions(), extra...)...)
	pb.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
	pb.RegisterHealthServer(g, &healthService{s: s})
	return g
}

func (s *Server) grpcAuth(ctx context.Context) error {
	if s.o.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if s.authorized(v) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "missing or wrong bearer token")
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	method := info.FullMethod
	if err := s.grpcAuth(ctx); err != nil {
		s.m.requests.WithLabelValues("grpc", method, codes.Unauthenticated.String()).Inc()
		return nil, err
	}
	resp, err := h(ctx, req)
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			ae := classify(err)
			err = status.Error(ae.code, ae.msg)
		}
	}
	s.m.requests.WithLabelValues("grpc", method, status.Code(err).String()).Inc()
	s.m.latency.WithLabelValues("grpc", method).Observe(time.Since(start).Seconds())
	return resp, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.grpcAuth(ss.Context()); err != nil {
		s.m.requests.WithLabelValues("grpc", info.FullMethod, codes.Unauthenticated.String()).Inc()
		return err
	}
	return h(srv, ss)
}

// toStatus maps an error to a gRPC status.
func toStatus(err error) error {
	ae := classify(err)
	if ae.code == codes.OK {
		return status.Error(codes.ResourceExhausted, ae.msg)
	}
	return status.Error(ae.code, ae.msg)
}

type grpcService struct {
	pb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: !g.s.draining.Load()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	if err := g.s.modelVersion(r.GetName(), r.GetVersion()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ModelReadyResponse{Ready: !g.s.draining.Load()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: ServerName, Version: ServerVersion, Extensions: extensions}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	md, err := g.s.Metadata(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, toStatus(err)
	}
	return md, nil
}

func (g *grpcService) ModelConfig(_ context.Context, r *pb.ModelConfigRequest) (*pb.ModelConfigResponse, error) {
	c, err := g.s.Config(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ModelConfigResponse{Config: c}, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	req, err := wire.RequestFromPB(r)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp, err := g.s.Infer(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := wire.ResponseToPB(resp)
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

// ModelStreamInfer answers each request of the stream in turn.
func (g *grpcService) ModelStreamInfer(st grpc.BidiStreamingServer[pb.ModelInferRequest, pb.ModelStreamInferResponse]) error {
	for {
		r, err := st.Recv()
		if err != nil {
			if status.Code(err) == codes.Canceled || err.Error() == "EOF" {
				return nil
			}
			return err
		}
		resp, err := g.ModelInfer(st.Context(), r)
		msg := &pb.ModelStreamInferResponse{InferResponse: resp}
		if err != nil {
			msg = &pb.ModelStreamInferResponse{ErrorMessage: status.Convert(err).Message()}
		}
		if err := st.Send(msg); err != nil {
			return err
		}
	}
}

func (g *grpcService) RepositoryIndex(context.Context, *pb.RepositoryIndexRequest) (*pb.RepositoryIndexResponse, error) {
	v := strconv.FormatInt(g.s.Version(), 10)
	out := &pb.RepositoryIndexResponse{}
	for _, m := range []string{g.s.o.Name, g.s.ScoreModel()} {
		out.Models = append(out.Models, &pb.RepositoryIndexResponse_ModelIndex{Name: m, Version: v, State: "READY"})
	}
	return out, nil
}

func (g *grpcService) RepositoryModelLoad(ctx context.Context, r *pb.RepositoryModelLoadRequest) (*pb.RepositoryModelLoadResponse, error) {
	if _, err := g.s.Load(ctx, r.GetModelName()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.RepositoryModelLoadResponse{}, nil
}

func (g *grpcService) RepositoryModelUnload(context.Context, *pb.RepositoryModelUnloadRequest) (*pb.RepositoryModelUnloadResponse, error) {
	return nil, status.Error(codes.FailedPrecondition, "pz serve keeps its model loaded; stop the server to unload it")
}

type healthService struct {
	pb.UnimplementedHealthServer
	s *Server
}

func (h *healthService) Check(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	if h.s.draining.Load() {
		return &pb.HealthCheckResponse{Status: pb.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &pb.HealthCheckResponse{Status: pb.HealthCheckResponse_SERVING}, nil
}
