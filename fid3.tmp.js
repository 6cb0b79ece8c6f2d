const path='/work/main/out/daemon/';
const {runTiledPass}=require(path+'engine/tiled-pass.js');
const {sessionInference}=require(path+'runtime/inference.js');
const {sessionOptions}=require(path+'runtime/providers.js');
const ort=require('onnxruntime-node'); const sharp=require('sharp');
async function load(){const {data}=await sharp('/usr/share/doc/opencv-doc/examples/data/baboon.jpg').extract({left:200,top:150,width:160,height:160}).removeAlpha().raw().toBuffer({resolveWithObject:true});
 const n=160*160, f=new Float32Array(3*n); for(let i=0;i<n;i++)for(let c=0;c<3;c++)f[c*n+i]=data[i*3+c]/255; return {width:160,height:160,channels:3,data:f};}
async function run(img,infer,tile,overlap,pad){const out=new Float32Array(3*640*640);
 await runTiledPass(img,infer,{scale:4,tileWidth:tile,tileHeight:tile,overlap,edgePad:pad,inputMultiple:1,minTile:32,checkpoint(){}},(y,count,rows)=>{for(let c=0;c<3;c++)out.set(rows.subarray(c*count*640,(c+1)*count*640),c*640*640+y*640)}); return out;}
(async()=>{const img=await load();
 const s=await ort.InferenceSession.create(`/root/.cache/upscale/models/realesrgan-x4plus.onnx`, sessionOptions('cpu')); const infer=sessionInference(s);
 const whole=await run(img,infer,0,0,8); const tiled=await run(img,infer,64,16,8);
 const B=40; let lines=[]; for(let by=0;by<16;by++){let l='';for(let bx=0;bx<16;bx++){let s=0;for(let y=by*B;y<by*B+B;y++)for(let x=bx*B;x<bx*B+B;x++)for(let c=0;c<3;c++){const d=whole[c*409600+y*640+x]-tiled[c*409600+y*640+x];s+=d*d;} const rms=Math.sqrt(s/(B*B*3)); l+=(rms*255).toFixed(1).padStart(6);} lines.push(l);} console.log(lines.join('\n'));
 let mn=1e9,mx=-1e9; for (const v of whole){mn=Math.min(mn,v);mx=Math.max(mx,v);} console.log('whole range',mn,mx);
})();
